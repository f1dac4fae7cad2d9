import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { fakeManifest } from '../separate/testing/fakes.ts';
import { openModelInThread } from './threaded.ts';

describe('the network thread', () => {
  test('disposes (and the process waits for it) after a cancelled job stopped waiting for a run still in progress', async () => {
    const runner = await openModelInThread(
      { manifest: fakeManifest(['a', 'b']), dir: '/nowhere', bundled: false },
      {},
      (data) =>
        new Worker(new URL('./testing/slow-network.mjs', import.meta.url), {
          workerData: { ...data, runMs: 300, releaseMs: 300 },
        }),
    );
    const running = runner.run(new Float32Array(2 * 2049 * 4), 1, 4);
    // The job was cancelled: it no longer waits for this batch, which the thread is still computing.
    let answered = false;
    running.then(
      () => (answered = true),
      () => {},
    );
    await runner.dispose();
    assert.ok(answered, 'the run in progress when dispose came was answered before the thread ended');
  });
});
