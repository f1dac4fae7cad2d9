// What every sample-rate converter the engine uses offers (libsamplerate's in resample.ts, the polyphase filter in
// polyphase.ts): a stream fed in pieces.

export interface StreamingResampler {
  /** Feeds planar input (one array per channel, equal lengths); returns the planar output produced so far. */
  process(planar: Float32Array[]): Float32Array[];
  /** Ends the stream: returns the rest, so that the total output is round(total input * to / from) samples. */
  flush(): Float32Array[];
  /** Frees the wasm converter. */
  destroy(): void;
}
