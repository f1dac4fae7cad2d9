import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFloat24 } from '../cache/float24.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { magnitude } from '../dsp/stft.ts';
import { CONTRACT } from '../model/manifest.ts';
import { readChunk } from './chunk-loop.ts';
import { PartNetwork } from './part-network.ts';
import { fakeModel, testSignal } from './testing/fakes.ts';

const SOURCES = ['vocals', 'drums', 'bass', 'other'];
const SEGMENTS = { segmentFrames: 16, overlapFrames: 4, batch: 2 };

describe('PartNetwork: the network run on a part’s chunks', () => {
  const setup = async (limit?: number) => {
    const runs: number[] = [];
    // Source j is the mixture's magnitude times j + 1.
    const model = fakeModel(SOURCES, (j) => j + 1);
    const run = model.run.bind(model);
    model.run = (input, batch, frames) => {
      runs.push(batch);
      return run(input, batch, frames);
    };
    const network = new PartNetwork(model, SEGMENTS, limit);
    const [left, right] = testSignal(200_000, 3);
    const song = {
      frames: left.length,
      read: async (start: number, length: number) =>
        [left, right].map((ch) => {
          const out = new Float32Array(length);
          out.set(ch.subarray(Math.max(0, start), Math.min(ch.length, start + length)), Math.max(0, -start));
          return out;
        }),
      retain() {},
      release: async () => {},
    };
    const plan = network.plan(song.frames);
    const reads: number[] = [];
    const read = (i: number) => {
      reads.push(i);
      return readChunk(song, plan.chunks[i], plan.chunkLength);
    };
    const kernels = await loadDspKernels();
    const ask = (indices: number[]) => network.estimates(plan, indices, read, kernels, () => {});
    return { runs, reads, plan, ask, read, kernels };
  };

  test('runs the chunks not kept in batches of the provider’s size; each record is the network’s output in float24', async () => {
    const { runs, plan, ask, read, kernels } = await setup();
    assert.ok(plan.chunks.length > 8);
    const got = await ask([3, 4, 5]);
    assert.deepEqual(runs, [2, 1]);
    assert.deepEqual([...got.keys()].sort(), [3, 4, 5]);
    const plane = 2 * CONTRACT.bins * plan.frames;
    for (const i of [3, 4, 5]) {
      const record = got.get(i)!;
      assert.equal(record.length, SOURCES.length * plane * 3);
      const mix = new Float32Array(plane);
      (await read(i)).forEach((ch, c) =>
        magnitude(kernels.stft(ch), mix.subarray((c * plane) / 2, ((c + 1) * plane) / 2)),
      );
      for (let j = 0; j < SOURCES.length; j++) {
        const values = decodeFloat24(record.subarray(j * plane * 3, (j + 1) * plane * 3), new Float32Array(plane));
        let worst = 0;
        for (let k = 0; k < plane; k++)
          worst = Math.max(worst, Math.abs(values[k] - mix[k] * (j + 1)) / (mix[k] * (j + 1) || 1));
        assert.ok(worst < 2 ** -14, `chunk ${i} source ${j}: relative error ${worst}`);
      }
    }
  });

  test('kept chunks run no network again and come as copies; the oldest go past the limit', async () => {
    const { runs, reads, ask } = await setup(3);
    const first = await ask([3, 4]);
    first.get(3)!.fill(0);
    const again = await ask([3, 4]);
    assert.deepEqual(runs, [2], 'no second run for kept chunks');
    assert.deepEqual(reads, [3, 4], 'nor are their samples read');
    assert.ok(
      again.get(3)!.some((b) => b !== 0),
      'what the caller did to its copy is not kept',
    );
    await ask([5, 6]); // 3 goes
    assert.deepEqual(runs, [2, 2]);
    await ask([4]);
    assert.deepEqual(runs, [2, 2], '4 is still kept');
    await ask([3]);
    assert.deepEqual(runs, [2, 2, 1], '3 ran again');
  });
});
