// The live time stretcher: one Signalsmith Stretch AudioWorkletNode per stem, playing that stem's samples from its
// own buffer, which the player appends blocks to and drops the played ones from. The worklet module is the
// package's own file, served with the app (script-src 'self'), so no blob URL is needed; it compiles its
// WebAssembly inside the worklet ('wasm-unsafe-eval').
import SignalsmithStretch from 'signalsmith-stretch';
import workletUrl from 'signalsmith-stretch?url';
import { STRETCH_BLOCK_MS, STRETCH_INTERVAL_MS } from '../../src-main/engine/dsp/time-pitch-settings.ts';
import type { StretchNode } from './player.ts';

const loaded = new WeakMap<BaseAudioContext, Promise<void>>();

/** An empty stretcher of `channels` channels, configured as the offline render is, stopped until scheduled. */
export async function createStretchNode(context: AudioContext, channels: number): Promise<StretchNode> {
  let module = loaded.get(context);
  if (!module) loaded.set(context, (module = context.audioWorklet.addModule(workletUrl)));
  await module;
  // One (unconnected) input: the processor reads its input list even when it plays from its buffer.
  const node = await SignalsmithStretch(context, {
    numberOfInputs: 1,
    numberOfOutputs: 1,
    outputChannelCount: [channels],
  });
  await node.configure({ blockMs: STRETCH_BLOCK_MS, intervalMs: STRETCH_INTERVAL_MS });
  return Object.assign(node, { latencySeconds: await node.latency() });
}
