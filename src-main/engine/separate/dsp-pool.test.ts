import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stft, type Spectrogram } from '../dsp/stft.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { renderChunk } from './chunk-render.ts';
import { XumxError } from '../errors.ts';
import type { EstimatesChunk } from './chunk-render.ts';
import { DspPool } from './dsp-pool.ts';

const LENGTH = 20 * 1024;

function task(): EstimatesChunk {
  const x = [0, 1].map((c) => Float32Array.from({ length: LENGTH }, (_, i) => Math.sin(i * (0.01 + 0.003 * c))));
  const mix = [stft(x[0]), stft(x[1])] as [Spectrogram, Spectrogram];
  const plane = 2 * mix[0].bins * mix[0].frames;
  return {
    kind: 'estimates',
    estimates: [0.4, 0.3, 0.2, 0.1].map((g) => new Float32Array(plane).fill(g)),
    mix,
    sources: ['vocals', 'drums', 'bass', 'other'],
    controls: { wienerIterations: 1, softmask: false, residual: false },
    chunkLength: LENGTH,
    samples: x,
  };
}

describe('DspPool', () => {
  const pool = new DspPool(1);
  after(() => pool.dispose());

  test('renders a chunk on its thread', async () => {
    const stems = await pool.render(task());
    assert.equal(stems.length, 4);
    assert.ok(stems.every((s) => s.length === 2 && s[0].length === LENGTH));
  });

  test('a chunk sent without its mixture STFT renders on the thread exactly as here', async () => {
    const k = await loadDspKernels();
    const t = task();
    const here = renderChunk(k, {
      ...t,
      estimates: t.estimates.map((e) => e.slice()),
      mix: [k.stft(t.samples![0]), k.stft(t.samples![1])],
    });
    const times = { stft: 0, wiener: 0, istft: 0 };
    const there = await pool.render({ ...t, mix: undefined }, times);
    assert.deepEqual(there, here);
    assert.ok(times.stft > 0, 'the thread reports its STFT time');
  });

  test('an urgent chunk queued after normal ones is rendered before the normal ones still waiting', async () => {
    const done: string[] = [];
    const normal = Array.from({ length: 6 }, (_, i) => pool.render(task()).then(() => done.push(`n${i}`)));
    const urgent = pool.render(task(), undefined, { urgent: true }).then(() => done.push('u'));
    await Promise.all([...normal, urgent]);
    // At most the chunks the thread already held when it came (one rendering, one waiting) go before it.
    assert.ok(done.indexOf('u') <= 2, `rendered in the order ${done.join(' ')}`);
  });

  test('chunks whose signal fires before they start are dropped, not rendered', async () => {
    const before = pool.renderedChunks;
    const abort = new AbortController();
    const given = Array.from({ length: 6 }, () => pool.render(task(), undefined, { signal: abort.signal }));
    abort.abort();
    for (const g of given)
      await assert.rejects(g, (err: unknown) => err instanceof XumxError && err.code === 'CANCELLED');
    // Once a chunk sent after them is back, every answer about them has come.
    await pool.render(task());
    const rendered = pool.renderedChunks - before - 1;
    assert.ok(rendered <= 2, `${rendered} of the 6 given-up chunks were rendered`);
  });

  test('a chunk given up before it is asked for is refused at once', async () => {
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(
      pool.render(task(), undefined, { signal: abort.signal }),
      (err: unknown) => err instanceof XumxError && err.code === 'CANCELLED',
    );
  });

  // A buffer detached before sending (it was handed to another thread already) makes the message undeliverable:
  // the thread never sees it, so without a report the render would be awaited forever.
  test(
    'a chunk that cannot be delivered fails the render instead of leaving it pending',
    { timeout: 20_000 },
    async () => {
      const t = task();
      const record = new Uint8Array(3 * t.estimates[0].length * 4);
      const { estimates: _, ...rest } = t;
      const shared = { ...rest, kind: 'float24' as const, float24: record.subarray(0) };
      structuredClone(record.buffer, { transfer: [record.buffer] }); // detaches the record's buffer here
      await assert.rejects(pool.render(shared), (err: unknown) => err instanceof XumxError && err.code === 'INTERNAL');
    },
  );
});
