// Signalsmith Stretch (MIT, the `signalsmith-stretch` package) outside a browser. The package's entry point only
// builds an AudioWorkletNode; the WebAssembly build it wraps registers itself through the file's UMD trailer first,
// so evaluating the file with an AMD `define` hands us that build's factory. Each instance owns one stretcher.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { XumxError } from '../errors.ts';

/** The exports of one instance of the WebAssembly build (one stretcher, its own memory). */
export interface StretchWasm {
  HEAP8: Int8Array;
  _configure(channels: number, blockSamples: number, intervalSamples: number, splitComputation: boolean): void;
  _reset(): void;
  _inputLatency(): number;
  _outputLatency(): number;
  /** Allocates `channels` input then `channels` output buffers of `length` floats each; returns their byte address. */
  _setBuffers(channels: number, length: number): number;
  /** `tonalityLimit` as a fraction of the sample rate. */
  _setTransposeSemitones(semitones: number, tonalityLimit: number): void;
  /** Reads `inputSamples` from the input buffers, writes `outputSamples` to the output buffers. */
  _process(inputSamples: number, outputSamples: number): void;
}

type Factory = () => Promise<StretchWasm>;
let factory: Factory | null = null;

function loadFactory(): Factory {
  if (factory) return factory;
  const file = createRequire(import.meta.url).resolve('signalsmith-stretch');
  const registered: unknown[] = [];
  const define = (_deps: unknown, make: () => unknown) => registered.push(make());
  define.amd = true;
  new Function('define', readFileSync(file, 'utf8'))(define);
  const build = registered[0];
  if (typeof build !== 'function')
    throw new XumxError('INTERNAL', `${file}: the time-stretch library's WebAssembly build was not found`, file);
  factory = build as Factory;
  return factory;
}

export async function createStretchWasm(): Promise<StretchWasm> {
  const wasm = await loadFactory()();
  if (typeof wasm._process !== 'function')
    throw new XumxError('INTERNAL', 'the time-stretch library has no process() export');
  return wasm;
}
