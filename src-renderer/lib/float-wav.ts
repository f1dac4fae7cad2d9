// The blocks of renders the player streams (32-bit float WAVs at the song's rate, all stems in one) read straight
// into planar samples, without decodeAudioData, whose round trip to the decoding thread cost about a quarter of a
// second for four 5-second parts on a busy 2-core machine (bench/ui-rerender.bench.ts); any other WAV is null.

const FLOAT = 3;
const EXTENSIBLE = 0xfffe;

/** Planar samples of a 32-bit float PCM WAV, or null when the bytes are anything else. */
export function readFloatWav(bytes: ArrayBuffer): { sampleRate: number; channels: Float32Array<ArrayBuffer>[] } | null {
  const view = new DataView(bytes);
  const tag = (at: number) =>
    String.fromCharCode(view.getUint8(at), view.getUint8(at + 1), view.getUint8(at + 2), view.getUint8(at + 3));
  if (bytes.byteLength < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return null;
  let format: { channels: number; sampleRate: number } | null = null;
  for (let at = 12; at + 8 <= bytes.byteLength;) {
    const id = tag(at);
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (id === 'fmt ' && size >= 16 && body + size <= bytes.byteLength) {
      let code = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE names the real format in the first two bytes of its sub-format GUID.
      if (code === EXTENSIBLE && size >= 40) code = view.getUint16(body + 24, true);
      if (code !== FLOAT || view.getUint16(body + 14, true) !== 32) return null;
      format = { channels: view.getUint16(body + 2, true), sampleRate: view.getUint32(body + 4, true) };
    } else if (id === 'data') {
      if (!format || format.channels < 1) return null;
      const n = format.channels;
      const frames = Math.floor(Math.min(size, bytes.byteLength - body) / (4 * n));
      const channels = Array.from({ length: n }, () => new Float32Array(frames));
      // WAV samples are little-endian, as every platform this app runs on: read them through a typed view.
      const samples =
        body % 4 === 0
          ? new Float32Array(bytes, body, frames * n)
          : new Float32Array(bytes.slice(body, body + frames * n * 4));
      for (let c = 0; c < n; c++) {
        const out = channels[c];
        for (let i = 0, p = c; i < frames; i++, p += n) out[i] = samples[p];
      }
      return { sampleRate: format.sampleRate, channels };
    }
    at = body + size + (size & 1);
  }
  return null;
}
