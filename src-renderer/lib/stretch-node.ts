// The live time stretcher: one Signalsmith Stretch AudioWorkletNode per stem, playing that stem's samples from its
// own buffer. The worklet module is the package's own file, served with the app (script-src 'self'), so no blob
// URL is needed; it compiles its WebAssembly inside the worklet ('wasm-unsafe-eval').
import SignalsmithStretch from 'signalsmith-stretch';
import workletUrl from 'signalsmith-stretch?url';
import { STRETCH_BLOCK_MS, STRETCH_INTERVAL_MS } from '../../src-main/engine/dsp/time-pitch-settings.ts';
import { stretchInput, type StretchNode } from './player.ts';

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();

/** A stretcher holding `buffer`'s channels, configured as the offline render is, stopped until scheduled. */
export async function createStretchNode(context: AudioContext, buffer: AudioBuffer): Promise<StretchNode> {
  let module = loaded.get(context);
  if (!module) loaded.set(context, (module = context.audioWorklet.addModule(workletUrl)));
  await module;
  // One (unconnected) input: the processor reads its input list even when it plays from its buffer.
  const node = await SignalsmithStretch(context, {
    numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [buffer.numberOfChannels],
  });
  await node.configure({ blockMs: STRETCH_BLOCK_MS, intervalMs: STRETCH_INTERVAL_MS });
  await node.addBuffers(...stretchInput(buffer));
  return Object.assign(node, { latencySeconds: await node.latency() });
}
