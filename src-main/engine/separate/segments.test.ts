import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Crossfader, fadeInCurve, framesFor, planChunks } from './segments.ts';

const HOP = 1024;
// What the pipeline asks for: more than the STFT's reflect padding of nFft / 2 (nFft 4096).
const MIN_CHUNK = 2049;

function join(
  total: number,
  segmentFrames: number,
  overlapFrames: number,
  chunkOf: (start: number, length: number, padded: number) => Float32Array[],
) {
  const plan = planChunks(total, { segmentFrames, overlapFrames }, HOP, MIN_CHUNK);
  const fader = new Crossfader(plan, 2);
  const out = [new Float32Array(total), new Float32Array(total)];
  let at = 0;
  plan.chunks.forEach((ch, i) => {
    const done = fader.add(i, chunkOf(ch.start, ch.length, plan.chunkLength));
    out[0].set(done[0], at);
    out[1].set(done[1], at);
    at += done[0].length;
  });
  return { plan, out, emitted: at };
}

describe('planChunks', () => {
  test('covers every sample exactly once from start to end, with neighbours overlapping by the overlap', () => {
    for (const total of [5000, 255 * HOP, 255 * HOP + 1, 1_000_003, 3 * 44100 * 60]) {
      const plan = planChunks(total, { segmentFrames: 256, overlapFrames: 16 }, HOP, MIN_CHUNK);
      assert.equal(plan.chunks[0].start, 0);
      const last = plan.chunks.at(-1)!;
      assert.equal(last.start + last.length, total);
      for (let i = 1; i < plan.chunks.length; i++) {
        const prev = plan.chunks[i - 1];
        assert.equal(prev.start + prev.length - plan.chunks[i].start, plan.overlap);
        assert.ok(plan.chunks[i].length > plan.overlap, 'the last chunk holds its whole crossfade');
      }
      assert.equal(plan.frames, framesFor(plan.chunkLength, HOP));
    }
  });

  test('gives a song shorter than a segment one chunk of its own length', () => {
    const plan = planChunks(30_000, { segmentFrames: 256, overlapFrames: 16 }, HOP, MIN_CHUNK);
    assert.deepEqual(plan.chunks, [{ start: 0, length: 30_000 }]);
    assert.equal(plan.frames, 30);
  });

  test('refuses an overlap of more than half a segment', () => {
    assert.throws(() => planChunks(1e6, { segmentFrames: 64, overlapFrames: 40 }, HOP, MIN_CHUNK), RangeError);
  });
});

describe('Crossfader', () => {
  test('fade-in and fade-out sum to one at every sample', () => {
    const f = fadeInCurve(777);
    for (let i = 0; i < f.length; i++) assert.ok(Math.abs(f[i] + f[f.length - 1 - i] - 1) < 1e-6);
  });

  test('an identity "model" gives back the input exactly, sample for sample', () => {
    const total = 1_234_567;
    const signal = [new Float32Array(total), new Float32Array(total)];
    for (let i = 0; i < total; i++) {
      signal[0][i] = Math.sin(i * 0.01);
      signal[1][i] = Math.cos(i * 0.0031) * 0.5;
    }
    const { out, emitted, plan } = join(total, 64, 16, (start, length, padded) =>
      signal.map((ch) => {
        const chunk = new Float32Array(padded);
        chunk.set(ch.subarray(start, start + length));
        return chunk;
      }),
    );
    assert.ok(plan.chunks.length > 10);
    assert.equal(emitted, total);
    let maxErr = 0;
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < total; i++) maxErr = Math.max(maxErr, Math.abs(out[c][i] - signal[c][i]));
    assert.ok(maxErr < 1e-6, `max error ${maxErr}`);
  });

  test('blends two disagreeing chunks smoothly instead of jumping', () => {
    // Chunk i outputs the constant i: inside an overlap the output must move monotonically from i to i+1.
    const { out, plan } = join(300 * HOP, 128, 32, (start, _len, padded) => {
      const v = start / planChunks(300 * HOP, { segmentFrames: 128, overlapFrames: 32 }, HOP, MIN_CHUNK).stride;
      return [new Float32Array(padded).fill(v), new Float32Array(padded).fill(v)];
    });
    const o = plan.chunks[1].start;
    for (let i = o; i < o + plan.overlap - 1; i++) assert.ok(out[0][i + 1] >= out[0][i]);
    assert.ok(Math.abs(out[0][o] - 0) < 0.01 && Math.abs(out[0][o + plan.overlap - 1] - 1) < 0.01);
  });

  test('rejects chunks out of order', () => {
    const plan = planChunks(1e6, { segmentFrames: 64, overlapFrames: 8 }, HOP, MIN_CHUNK);
    const fader = new Crossfader(plan, 1);
    assert.throws(() => fader.add(1, [new Float32Array(plan.chunkLength)]), RangeError);
  });
});
