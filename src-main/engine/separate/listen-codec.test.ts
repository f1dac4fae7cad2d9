import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_FRAMES, MAX_ERROR, decodeBlock, encodeBlock } from './listen-codec.ts';

/** A sine of amplitude `peak` with a little noise, so every block has its own peak. */
function tone(frames: number, peak: number, seed: number): Float32Array {
  let s = seed;
  const noise = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
  return Float32Array.from(
    { length: frames },
    (_, i) => peak * (0.9 * Math.sin((2 * Math.PI * 220 * i) / 44100) + 0.1 * noise()),
  );
}

/** Channels coded block by block and decoded back, interleaved; with the bytes they took. */
function roundTrip(channels: Float32Array[]): { out: Float32Array; bytes: number } {
  const frames = channels[0].length;
  const blocks: Buffer[] = [];
  for (let at = 0; at < frames; at += BLOCK_FRAMES)
    blocks.push(encodeBlock(channels, at, Math.min(BLOCK_FRAMES, frames - at)));
  const data = Buffer.concat(blocks);
  const out = new Float32Array(frames * channels.length).fill(Number.NaN);
  let pos = 0;
  for (let at = 0; at < frames; at += BLOCK_FRAMES)
    pos = decodeBlock(data, pos, channels.length, Math.min(BLOCK_FRAMES, frames - at), out, at);
  assert.equal(pos, data.length, 'every byte is one block or another');
  return { out, bytes: data.length };
}

function worst(channels: Float32Array[], out: Float32Array): number {
  let m = 0;
  channels.forEach((ch, c) =>
    ch.forEach((v, i) => {
      m = Math.max(m, Math.abs(out[i * channels.length + c] - v));
    }),
  );
  return m;
}

describe('listening copy blocks', () => {
  test('give back every sample within 2^-15, for stems far beyond ±1, quiet ones and a partial last block', () => {
    const frames = 5 * BLOCK_FRAMES + 333;
    const channels = [
      tone(frames, 0.95, 1),
      tone(frames, 1.9, 2),
      tone(frames, 37, 3),
      tone(frames, 0.006, 4),
      tone(frames, 3e-7, 5),
    ];
    // Loud and quiet parts inside one channel: each block is scaled by its own peak.
    channels[0].subarray(2 * BLOCK_FRAMES, 3 * BLOCK_FRAMES).forEach((v, i, a) => {
      a[i] = v * 2.05;
    });
    const { out } = roundTrip(channels);
    const w = worst(channels, out);
    assert.ok(w <= MAX_ERROR, `off by ${w}`);
    assert.ok(MAX_ERROR < 1e-4 / 3, "well inside the route's bound, with room for the stem files' own rounding");
  });

  test('give silence back as exact zeros, in one byte a block channel', () => {
    const frames = 3 * BLOCK_FRAMES;
    const silent = new Float32Array(frames);
    const { out, bytes } = roundTrip([silent, silent.slice()]);
    assert.ok(out.every((v) => v === 0 && !Object.is(v, -0)));
    assert.equal(bytes, 3 * 2);
  });

  test("give a constant block and each block channel's loudest sample back exactly", () => {
    const constant = new Float32Array(BLOCK_FRAMES).fill(Math.fround(0.1));
    const loud = tone(BLOCK_FRAMES, 1.3, 11);
    const { out } = roundTrip([constant, loud]);
    assert.ok(constant.every((v, i) => out[2 * i] === v));
    const at = loud.reduce((best, v, i) => (Math.abs(v) > Math.abs(loud[best]) ? i : best), 0);
    assert.equal(out[2 * at + 1], loud[at]);
  });

  test('keep non-finite samples as they are', () => {
    const ch = tone(BLOCK_FRAMES, 0.5, 6);
    ch[10] = Number.NaN;
    ch[11] = Number.POSITIVE_INFINITY;
    const { out } = roundTrip([ch]);
    assert.ok(Number.isNaN(out[10]));
    assert.equal(out[11], Number.POSITIVE_INFINITY);
    assert.equal(out[12], ch[12]);
  });

  test('take at most half the bytes of 32-bit floats for stems within ±2, a quarter for quiet ones', () => {
    const frames = 44100 * 10;
    const loud = roundTrip([tone(frames, 1.5, 7), tone(frames, 0.8, 8)]);
    assert.ok(loud.bytes <= frames * 2 * 2 * 1.01, `${loud.bytes} bytes for ${frames * 2 * 4} bytes of floats`);
    const quiet = roundTrip([tone(frames, 0.004, 9), tone(frames, 0.002, 10)]);
    assert.ok(quiet.bytes <= frames * 2 * 1.01, `${quiet.bytes} bytes for ${frames * 2 * 4} bytes of floats`);
  });
});
