import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dispatchCall } from './dispatch.ts';
import { fakeStudio } from './testing/studio.ts';

const setup = () => fakeStudio('xumx-dispatch-');

describe('calls naming what is not there', () => {
  test('answers stem, peaks and export calls for sources named like object built-ins as bad arguments naming the source', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const folder = join(t.dir, 'out');
    for (const source of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const calls: [string, unknown[]][] = [
        ['peaks', [job.id, source, 100]],
        ['exportStems', [{ jobId: job.id, sources: [source], folder, format: 'wav', bitDepth: 16 }]],
        [
          'exportMix',
          [{ jobId: job.id, gains: JSON.parse(`{"${source}": 1}`), folder, name: 'mix', format: 'wav', bitDepth: 16 }],
        ],
      ];
      for (const [method, args] of calls) {
        const r = await dispatchCall(t.service, method, args);
        assert.equal(r.ok, false, `${method} ${source}`);
        if (!r.ok) {
          assert.equal(r.error.code, 'BAD_ARGUMENT', `${method} ${source}: ${r.error.message}`);
          assert.match(r.error.message, new RegExp(`"${source}"`), `${method} ${source}`);
        }
      }
      assert.throws(() => t.service.stemFile(job.id, source), {
        code: 'BAD_ARGUMENT',
        message: new RegExp(`no stem "${source}"`),
      });
    }
    await t.done();
  });
});

describe('open', () => {
  test('queues nothing when it reports that the recent files could not be saved', async () => {
    const t = await setup();
    // A folder where the settings file belongs makes saving it fail.
    await mkdir(join(t.dir, 'settings.json'));
    await writeFile(join(t.dir, 'settings.json', 'keep'), '');
    const r = await dispatchCall(t.service, 'open', [['/songs/a.wav']]);
    assert.equal(r.ok, false);
    if (!r.ok) assert.match(r.error.message, /settings\.json: could not be saved/);
    assert.deepEqual(await t.service.listJobs(), []);
    await t.done();
  });
});
