// How a listening copy stores its samples: in blocks of BLOCK_FRAMES frames, each channel of a block with the fewest
// bytes per sample that keep every sample within MAX_ERROR of the float it was, so the copy stays what the stems hold
// (the route's bound is 1e-4, and 16-bit stem files are themselves 2^-15 off). A uniform step cannot do this for
// every block with one width: a block whose peak is p needs p / MAX_ERROR levels, which 16 bits give up to p = 2
// (a float file's stem can go far beyond) and 8 bits already give up to −42 dBFS. So a block channel is silence (no
// samples), 8- or 16-bit integers scaled by the block's own peak, or the floats as they are. Lossless float
// compression would save far less on music; a fixed 16-bit format would miss the bound above p = 2.

/** 11 ms at 44.1 kHz: a quiet passage beside a loud one keeps its own scale, and the headers stay under 1% of a block. */
export const BLOCK_FRAMES = 500;
/** The largest difference between a sample and what its copy gives back: half a 16-bit step at full scale. */
export const MAX_ERROR = 2 ** -15;

/** Bytes per sample of a block channel's codings; the first byte of the channel's record says which one. */
type Width = 0 | 1 | 2 | 4;

/** Frames [start, start + frames) of every channel (planar), coded channel by channel. */
export function encodeBlock(channels: Float32Array[], start: number, frames: number): Buffer {
  const parts = channels.map((ch) => encodeChannel(ch.subarray(start, start + frames)));
  return Buffer.concat(parts);
}

function encodeChannel(x: Float32Array): Buffer {
  let peak = 0;
  for (const v of x) peak = Math.max(peak, Math.abs(v));
  // NaN compares false above and must stay NaN: only a finite peak is coded with a scale.
  const finite = x.every(Number.isFinite);
  const width: Width = !finite ? 4 : peak === 0 ? 0 : peak <= 254 * MAX_ERROR ? 1 : peak <= 65534 * MAX_ERROR ? 2 : 4;
  if (width === 0) return Buffer.from([0]);
  if (width === 4) {
    const out = Buffer.alloc(1 + 4 * x.length);
    out[0] = 4;
    for (let i = 0; i < x.length; i++) out.writeFloatLE(x[i], 1 + 4 * i);
    return out;
  }
  const top = width === 1 ? 127 : 32767;
  // The peak itself is stored (a float32 already): the loudest sample, and a constant block, come back exactly.
  const out = Buffer.alloc(5 + width * x.length);
  out[0] = width;
  out.writeFloatLE(peak, 1);
  for (let i = 0; i < x.length; i++) {
    const q = Math.max(-top, Math.min(top, Math.round((x[i] * top) / peak)));
    if (width === 1) out.writeInt8(q, 5 + i);
    else out.writeInt16LE(q, 5 + 2 * i);
  }
  return out;
}

/**
 * Decodes one block of `frames` frames of `width` channels at `data[at]` into `out` (interleaved, `width` channels a
 * frame) from frame `outFrame`; returns where the next block starts.
 */
export function decodeBlock(data: Buffer, at: number, width: number, frames: number, out: Float32Array, outFrame: number): number {
  for (let c = 0; c < width; c++) {
    const kind = data[at] as Width;
    let o = outFrame * width + c;
    if (kind === 0) {
      for (let i = 0; i < frames; i++, o += width) out[o] = 0;
      at += 1;
    } else if (kind === 4) {
      for (let i = 0; i < frames; i++, o += width) out[o] = data.readFloatLE(at + 1 + 4 * i);
      at += 1 + 4 * frames;
    } else if (kind === 1 || kind === 2) {
      const peak = data.readFloatLE(at + 1);
      const top = kind === 1 ? 127 : 32767;
      for (let i = 0; i < frames; i++, o += width) out[o] = ((kind === 1 ? data.readInt8(at + 5 + i) : data.readInt16LE(at + 5 + 2 * i)) * peak) / top;
      at += 5 + kind * frames;
    } else {
      throw new Error(`a block channel coded as ${kind} (the copy is damaged)`);
    }
  }
  return at;
}
