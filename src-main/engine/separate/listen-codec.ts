// How a listening copy stores its samples: in blocks of BLOCK_FRAMES frames, each channel of a block with the fewest
// bytes per sample that keep every sample within MAX_ERROR of the float it was, so the copy stays what the stems hold
// (the route's bound is 1e-4, and a 16-bit stem file is itself up to 2^-15 off). One width for every block cannot do
// this: a block whose peak is p needs p / MAX_ERROR levels, which 16 bits give up to p = 2 (the stems of a float file,
// or of a strength above 1, can go beyond) and 8 bits already give up to −42 dBFS. So a block channel is silence (no
// samples), 8- or 16-bit integers scaled by the block's own peak, or the floats as they are: about half the bytes of
// floats on music. Lossless float compression would save far less; a fixed 16-bit format would miss the bound above
// p = 2. Samples are in the machine's byte order: a copy is read only by the app that wrote it.

/** 11 ms at 44.1 kHz: a quiet passage beside a loud one keeps its own scale, and the headers stay under 1% of a block. */
export const BLOCK_FRAMES = 500;
/** The largest difference between a sample and what its copy gives back: half a 16-bit step at full scale. */
export const MAX_ERROR = 2 ** -15;

/** Bytes per sample of a block channel's codings; the first byte of the channel's record says which one. */
type Width = 0 | 1 | 2 | 4;

/** Frames [start, start + frames) of every channel (planar), coded channel by channel. */
export function encodeBlock(channels: Float32Array[], start: number, frames: number): Buffer {
  const parts = channels.map((ch) => ch.subarray(start, start + frames));
  const codings = parts.map(codingOf);
  const out = Buffer.allocUnsafe(codings.reduce((n, c) => n + headBytes(c.width) + c.width * frames, 0));
  let at = 0;
  parts.forEach((x, c) => {
    at = writeChannel(out, at, x, codings[c]);
  });
  return out;
}

interface Coding {
  width: Width;
  peak: number;
}

function codingOf(x: Float32Array): Coding {
  let peak = 0;
  let finite = true;
  for (let i = 0; i < x.length; i++) {
    const a = Math.abs(x[i]);
    if (a > peak) peak = a;
    else if (!(a <= peak)) finite = false;
  }
  // Infinity and NaN stay as they are: only a finite peak is coded with a scale.
  if (!finite || !Number.isFinite(peak)) return { width: 4, peak };
  return { width: peak === 0 ? 0 : peak <= 254 * MAX_ERROR ? 1 : peak <= 65534 * MAX_ERROR ? 2 : 4, peak };
}

/** The coding's byte, then the peak when the samples are scaled by it. */
function headBytes(width: Width): number {
  return width === 1 || width === 2 ? 5 : 1;
}

/** Writes a block channel at `out[at]` (samples in the machine's byte order); returns where the next one starts. */
function writeChannel(out: Buffer, at: number, x: Float32Array, { width, peak }: Coding): number {
  out[at] = width;
  if (width === 0) return at + 1;
  if (width === 4) {
    out.set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength), at + 1);
    return at + 1 + x.byteLength;
  }
  // The peak itself is stored (a float32 already): the loudest sample, and a constant block, come back exactly.
  out.writeFloatLE(peak, at + 1);
  const top = width === 1 ? 127 : 32767;
  const q =
    width === 1 ? new Int8Array(scratch(x.length), 0, x.length) : new Int16Array(scratch(2 * x.length), 0, x.length);
  const k = top / peak;
  // Rounded half away from zero (three times faster than Math.round here); |x| ≤ peak, so to at most `top`.
  for (let i = 0; i < x.length; i++) {
    const v = x[i] * k;
    q[i] = v < 0 ? -((0.5 - v) | 0) : (v + 0.5) | 0;
  }
  out.set(new Uint8Array(q.buffer, 0, q.byteLength), at + 5);
  return at + 5 + q.byteLength;
}

let scratchBuffer = new ArrayBuffer(4 * BLOCK_FRAMES);
/** A reused buffer of at least `bytes` bytes: coding allocates nothing per block channel. */
function scratch(bytes: number): ArrayBuffer {
  if (scratchBuffer.byteLength < bytes) scratchBuffer = new ArrayBuffer(bytes);
  return scratchBuffer;
}

/** `n` samples of a typed array's kind from `data[at]`, copied into the scratch buffer so they are aligned. */
function view<T extends Int8Array | Int16Array | Float32Array>(
  Kind: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number },
  data: Buffer,
  at: number,
  n: number,
): T {
  const bytes = n * Kind.BYTES_PER_ELEMENT;
  const buf = scratch(bytes);
  new Uint8Array(buf, 0, bytes).set(data.subarray(at, at + bytes));
  return new Kind(buf, 0, n);
}
/**
 * Decodes one block of `frames` frames of `width` channels at `data[at]` into `out` (interleaved, `width` channels a
 * frame) from frame `outFrame`; returns where the next block starts.
 */
export function decodeBlock(
  data: Buffer,
  at: number,
  width: number,
  frames: number,
  out: Float32Array,
  outFrame: number,
): number {
  for (let c = 0; c < width; c++) {
    const kind = data[at] as Width;
    let o = outFrame * width + c;
    if (kind === 0) {
      for (let i = 0; i < frames; i++, o += width) out[o] = 0;
      at += 1;
    } else if (kind === 4) {
      const x = view(Float32Array, data, at + 1, frames);
      for (let i = 0; i < frames; i++, o += width) out[o] = x[i];
      at += 1 + 4 * frames;
    } else if (kind === 1 || kind === 2) {
      const peak = data.readFloatLE(at + 1);
      const top = kind === 1 ? 127 : 32767;
      const q = kind === 1 ? view(Int8Array, data, at + 5, frames) : view(Int16Array, data, at + 5, frames);
      for (let i = 0; i < frames; i++, o += width) out[o] = (q[i] * peak) / top;
      at += 5 + kind * frames;
    } else {
      throw new Error(`a block channel coded as ${kind} (the copy is damaged)`);
    }
  }
  return at;
}
