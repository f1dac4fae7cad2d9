// Tempo without pitch change and key without tempo change, offline, with Signalsmith Stretch: planar Float32 in,
// planar Float32 out, streamed in blocks so a stem never has to exist whole. The stretcher's own latency is taken
// out, so output frame j holds the input around frame j·tempo and the stream is exactly stretchedLength() long.
// At tempo 1 and 0 semitones nothing is processed: the same arrays come back.
import { concatPieces } from '../audio/pieces.ts';
import { createStretchWasm, type StretchWasm } from './stretch-library.ts';
import {
  isBypassed,
  STRETCH_BLOCK_MS,
  STRETCH_INTERVAL_MS,
  stretchedLength,
  TEMPO_RANGE,
  type TimePitch,
} from './time-pitch-settings.ts';

export * from './time-pitch-settings.ts';

/** Above this the library keeps a harmonic's timbre rather than its exact partials; the web player uses the same. */
const TONALITY_LIMIT_HZ = 8000;
/**
 * Input frames per library call. Each process() call is cut into calls of this many from its own start, so a stream
 * fed whole multiples of it makes the very library calls, and samples, that one call with all of it makes.
 */
export const STRETCH_CALL_FRAMES = 2048;
const BLOCK = STRETCH_CALL_FRAMES;
const BUFFER = Math.ceil(BLOCK / TEMPO_RANGE.min) + 2; // room for one call's output at the slowest tempo

export class TimePitchStream {
  private fed = 0; // input frames given to the library, trailing silence included
  private produced = 0; // output frames the library returned, its latency included
  private received = 0; // frames of the caller's input
  private delivered = 0;
  private finished = false;

  private constructor(
    private readonly tp: TimePitch,
    private readonly channels: number,
    private readonly wasm: StretchWasm | null,
    private readonly buffers: number, // byte address of the library's buffers
    /** Output frames that come before input frame 0: the library's input latency at this tempo plus its output latency. */
    private readonly skip: number,
  ) {}

  static async create(channels: number, sampleRate: number, tp: TimePitch): Promise<TimePitchStream> {
    if (isBypassed(tp)) return new TimePitchStream(tp, channels, null, 0, 0);
    const wasm = await createStretchWasm();
    wasm._configure(
      channels,
      Math.round((STRETCH_BLOCK_MS / 1000) * sampleRate),
      Math.round((STRETCH_INTERVAL_MS / 1000) * sampleRate),
      false,
    );
    wasm._reset();
    wasm._setTransposeSemitones(tp.semitones, TONALITY_LIMIT_HZ / sampleRate);
    const buffers = wasm._setBuffers(channels, BUFFER);
    const skip = Math.round(wasm._inputLatency() / tp.tempo + wasm._outputLatency());
    return new TimePitchStream(tp, channels, wasm, buffers, skip);
  }

  get bypassed(): boolean {
    return this.wasm === null;
  }

  /** Takes the next input frames (one array per channel); returns the output frames that are ready. */
  process(planar: Float32Array[]): Float32Array[] {
    if (this.finished) throw new Error('TimePitchStream: process() after finish()');
    if (!this.wasm) return planar;
    const n = planar[0]?.length ?? 0;
    this.received += n;
    return this.run(planar, n);
  }

  /** The rest of the output: the stream then holds exactly stretchedLength(input frames, tempo) frames. */
  finish(): Float32Array[] {
    this.finished = true;
    if (!this.wasm) return Array.from({ length: this.channels }, () => new Float32Array(0));
    const total = stretchedLength(this.received, this.tp.tempo);
    const parts: Float32Array[][] = [];
    let got = 0;
    const silence = Array.from({ length: this.channels }, () => new Float32Array(BLOCK));
    while (this.delivered < total) {
      const part = this.run(silence, BLOCK);
      parts.push(part);
      got += part[0].length;
    }
    const out = concatPieces(parts, this.channels, got);
    const extra = this.delivered - total;
    this.delivered = total;
    return extra > 0 ? out.map((ch) => ch.subarray(0, ch.length - extra)) : out;
  }

  private run(planar: Float32Array[], n: number): Float32Array[] {
    const parts: Float32Array[][] = [];
    let got = 0;
    for (let start = 0; start < n; start += BLOCK) {
      const part = this.block(planar, start, Math.min(BLOCK, n - start));
      if (part[0].length) parts.push(part);
      got += part[0].length;
    }
    return concatPieces(parts, this.channels, got);
  }

  /** One library call: the output length follows the tempo exactly over the whole stream, not per call. */
  private block(planar: Float32Array[], start: number, n: number): Float32Array[] {
    const wasm = this.wasm!;
    const outN = Math.round((this.fed + n) / this.tp.tempo) - Math.round(this.fed / this.tp.tempo);
    let heap = new Float32Array(wasm.HEAP8.buffer);
    const base = this.buffers >> 2;
    for (let c = 0; c < this.channels; c++) heap.set(planar[c].subarray(start, start + n), base + c * BUFFER);
    wasm._process(n, outN);
    heap = new Float32Array(wasm.HEAP8.buffer); // the call may have grown the memory
    this.fed += n;
    const from = Math.max(0, this.skip - this.produced);
    this.produced += outN;
    const keep = Math.max(0, outN - from);
    this.delivered += keep;
    return Array.from({ length: this.channels }, (_, c) => {
      const at = base + (this.channels + c) * BUFFER + from;
      return heap.slice(at, at + keep);
    });
  }
}

/** A whole signal at another tempo and key; at tempo 1 and 0 semitones the very same arrays are returned. */
export async function renderTimePitch(
  planar: Float32Array[],
  sampleRate: number,
  tp: TimePitch,
): Promise<Float32Array[]> {
  const stream = await TimePitchStream.create(planar.length, sampleRate, tp);
  if (stream.bypassed) return planar;
  const head = stream.process(planar);
  const tail = stream.finish();
  return concatPieces([head, tail], planar.length, head[0].length + tail[0].length);
}
