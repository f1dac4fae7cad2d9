// Interleaved PCM on disk → planar Float32Arrays, read in 4 MiB slices with positional reads and handed over a
// slice at a time, so a reader's own memory is one slice. Shared by the WAV and AIFF readers, which differ only in where the samples
// sit and how each one is stored. Integers scale by 2^(bits−1) (as the writers do), so a written file reads back
// bit-exactly.
import type { FileHandle } from 'node:fs/promises';
import { audioError } from './audio-error.ts';

export interface PcmLayout {
  channels: number;
  /** Bytes per sample slot: 1–4 for integers, 4 or 8 for floats. */
  bytes: number;
  encoding: 'int' | 'uint' | 'float';
  bigEndian: boolean;
}

const SLICE_BYTES = 4 << 20;

/** Up to `n` bytes at `at` (fewer at the end of the file). */
export async function readAt(fh: FileHandle, at: number, n: number): Promise<Buffer> {
  const buf = Buffer.alloc(n);
  let got = 0;
  while (got < n) {
    const { bytesRead } = await fh.read(buf, got, n - got, at + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

/**
 * The `frames` frames starting at byte `at`, one slice at a time. Non-finite float samples become silence, and a
 * notice saying how many is added to `notices` after the last slice.
 */
export async function* pcmPieces(
  fh: FileHandle,
  path: string,
  at: number,
  frames: number,
  layout: PcmLayout,
  notices: string[],
): AsyncGenerator<Float32Array[]> {
  const blockAlign = layout.bytes * layout.channels;
  const sliceFrames = Math.max(1, Math.floor(SLICE_BYTES / blockAlign));
  const slice = Buffer.allocUnsafeSlow(Math.min(frames, sliceFrames) * blockAlign);
  const convert = converterFor(layout);
  let nonFinite = 0;
  for (let f = 0; f < frames; f += sliceFrames) {
    const n = Math.min(sliceFrames, frames - f);
    const want = n * blockAlign;
    let got = 0;
    while (got < want) {
      const { bytesRead } = await fh.read(slice, got, want - got, at + f * blockAlign + got);
      if (bytesRead === 0) throw audioError('TRUNCATED', path, 'the file became shorter while it was being read');
      got += bytesRead;
    }
    const channels = Array.from({ length: layout.channels }, () => new Float32Array(n));
    nonFinite += convert(slice, n, channels, 0);
    yield channels;
  }
  if (nonFinite > 0) notices.push(`replaced ${nonFinite} NaN, infinite or out-of-range float samples with silence`);
}

type Converter = (slice: Buffer, frames: number, out: Float32Array[], offset: number) => number;

/** A function that de-interleaves `frames` frames into `out` at `offset` and returns the non-finite count. */
function converterFor(l: PcmLayout): Converter {
  const ch = l.channels;
  if (l.encoding === 'float') {
    return (s, n, out, o) => {
      const view = new DataView(s.buffer, s.byteOffset, n * ch * l.bytes);
      const le = !l.bigEndian;
      let bad = 0;
      for (let c = 0; c < ch; c++) {
        const dst = out[c];
        for (let i = 0, j = c * l.bytes; i < n; i++, j += ch * l.bytes) {
          // Checked as float32: a float64 beyond its range would become ±Infinity in the output.
          const v = Math.fround(l.bytes === 4 ? view.getFloat32(j, le) : view.getFloat64(j, le));
          if (Number.isFinite(v)) dst[o + i] = v;
          else {
            dst[o + i] = 0;
            bad++;
          }
        }
      }
      return bad;
    };
  }
  const scale = 1 / 2 ** (8 * l.bytes - 1);
  if (!l.bigEndian && (l.bytes === 2 || l.bytes === 4)) {
    // The common WAV case: a typed-array view reads the slice (offset 0 of its own buffer, so aligned) directly.
    return (s, n, out, o) => {
      const src =
        l.bytes === 2 ? new Int16Array(s.buffer, s.byteOffset, n * ch) : new Int32Array(s.buffer, s.byteOffset, n * ch);
      for (let c = 0; c < ch; c++) {
        const dst = out[c];
        for (let i = 0, j = c; i < n; i++, j += ch) dst[o + i] = src[j] * scale;
      }
      return 0;
    };
  }
  const read = integerReader(l);
  return (s, n, out, o) => {
    for (let c = 0; c < ch; c++) {
      const dst = out[c];
      for (let i = 0, j = c * l.bytes; i < n; i++, j += ch * l.bytes) dst[o + i] = read(s, j) * scale;
    }
    return 0;
  };
}

/** Reads one signed sample (as the integer it codes, full width of its slot) at byte `j`. */
function integerReader(l: PcmLayout): (s: Buffer, j: number) => number {
  if (l.bytes === 1) return l.encoding === 'uint' ? (s, j) => s[j] - 128 : (s, j) => (s[j] << 24) >> 24;
  if (l.bigEndian) {
    if (l.bytes === 2) return (s, j) => ((s[j] << 24) | (s[j + 1] << 16)) >> 16;
    if (l.bytes === 3) return (s, j) => ((s[j] << 24) | (s[j + 1] << 16) | (s[j + 2] << 8)) >> 8;
    return (s, j) => (s[j] << 24) | (s[j + 1] << 16) | (s[j + 2] << 8) | s[j + 3];
  }
  if (l.bytes === 2) return (s, j) => ((s[j + 1] << 24) | (s[j] << 16)) >> 16;
  if (l.bytes === 3) return (s, j) => ((s[j + 2] << 24) | (s[j + 1] << 16) | (s[j] << 8)) >> 8;
  return (s, j) => (s[j + 3] << 24) | (s[j + 2] << 16) | (s[j + 1] << 8) | s[j];
}
