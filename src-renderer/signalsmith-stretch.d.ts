// The parts of signalsmith-stretch (no type declarations of its own) the player uses.
declare module 'signalsmith-stretch' {
  export interface StretchSchedule {
    /** Context time of the change (the node compensates its own latency when this is far enough ahead). */
    output?: number;
    active?: boolean;
    /** Position in the node's buffer, seconds. */
    input?: number;
    rate?: number;
    semitones?: number;
    /** A part of the node's buffer (seconds) it wraps over while playing; off when both are equal. */
    loopStart?: number;
    loopEnd?: number;
  }
  export interface SignalsmithStretchNode extends AudioWorkletNode {
    schedule(change: StretchSchedule): Promise<unknown>;
    configure(config: { blockMs: number; intervalMs: number }): Promise<unknown>;
    addBuffers(channels: Float32Array[], transfer?: ArrayBufferLike[]): Promise<number>;
    /** All samples (input time starts at 0 again), or those before `toSeconds`. */
    dropBuffers(toSeconds?: number): Promise<unknown>;
    /** Seconds between input and output. */
    latency(): Promise<number>;
  }
  export default function SignalsmithStretch(
    context: BaseAudioContext,
    options?: AudioWorkletNodeOptions,
  ): Promise<SignalsmithStretchNode>;
}

declare module 'signalsmith-stretch?url' {
  const url: string;
  export default url;
}
