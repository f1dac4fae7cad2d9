import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { heldTo } from './compressed-readers.ts';

async function* pieces(...lengths: number[]): AsyncGenerator<Float32Array[]> {
  let at = 0;
  for (const n of lengths) {
    yield [Float32Array.from({ length: n }, (_, i) => at + i + 1), Float32Array.from({ length: n }, () => -1)];
    at += n;
  }
}

async function all(g: AsyncIterable<Float32Array[]>): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for await (const p of g) parts.push(p);
  return [0, 1].map((c) => Float32Array.from(parts.flatMap((p) => [...p[c]])));
}

describe('a decoded stream held to the length its header gives', () => {
  test('exactly as long: the pieces as they are, nothing said', async () => {
    const notices: string[] = [];
    const out = await all(heldTo(pieces(3, 4), 7, 2, notices, 'MP3'));
    assert.deepEqual([...out[0]], [1, 2, 3, 4, 5, 6, 7]);
    assert.deepEqual(notices, []);
  });

  test('longer: cut at the length, within a piece, and said', async () => {
    const notices: string[] = [];
    const out = await all(heldTo(pieces(3, 4, 2), 5, 2, notices, 'MP3'));
    assert.deepEqual([...out[0]], [1, 2, 3, 4, 5]);
    assert.equal(out[1].length, 5);
    assert.deepEqual(notices, [
      'the MP3 decoded to 9 samples where its header gives 5: the samples past it are left out',
    ]);
  });

  test('shorter: silence to the length, and said', async () => {
    const notices: string[] = [];
    const out = await all(heldTo(pieces(3), 6, 2, notices, 'Opus stream'));
    assert.deepEqual([...out[0]], [1, 2, 3, 0, 0, 0]);
    assert.deepEqual([...out[1]], [-1, -1, -1, 0, 0, 0]);
    assert.deepEqual(notices, [
      'the Opus stream decoded to 3 samples where its header gives 6: the end is filled with silence',
    ]);
  });
});
