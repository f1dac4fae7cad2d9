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

describe('exports followed by an id', () => {
  test('an exportId that is not an id is a bad argument; cancelling an export not running answers false', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const folder = join(t.dir, 'out');
    const stems = { jobId: job.id, sources: ['vocals'], folder, format: 'wav', bitDepth: 16 };
    for (const exportId of ['', 'a b', '../x', 'x'.repeat(65), 7]) {
      const r = await dispatchCall(t.service, 'exportStems', [{ ...stems, exportId }]);
      assert.deepEqual(r, { ok: false, error: { code: 'BAD_ARGUMENT', message: 'exportId must be an id' } });
    }
    assert.deepEqual(await dispatchCall(t.service, 'cancelExport', ['not-running']), { ok: true, value: false });
    assert.deepEqual(await dispatchCall(t.service, 'cancelExport', [{}]), {
      ok: false,
      error: { code: 'BAD_ARGUMENT', message: 'exportId must be an id' },
    });
    const r = await dispatchCall(t.service, 'exportStems', [{ ...stems, exportId: 'fine_id-1' }]);
    assert.equal(r.ok, true, r.ok ? '' : r.error.message);
    await t.done();
  });
});

describe('open', () => {
  test('queues the songs when the recent files cannot be saved, and says so in a notice naming the file and why', async () => {
    const t = await setup();
    // A folder where the settings file belongs makes saving it fail, even for root (a full or read-only data folder).
    await mkdir(join(t.dir, 'settings.json'));
    await writeFile(join(t.dir, 'settings.json', 'keep'), '');
    const notices: string[] = [];
    t.service.onEvent((e) => {
      if (e.type === 'notice') notices.push(e.message);
    });
    const r = await dispatchCall(t.service, 'open', [['/songs/a.wav']]);
    assert.equal(r.ok, true, r.ok ? '' : r.error.message);
    assert.deepEqual(
      (await t.service.listJobs()).map((j) => j.input),
      ['/songs/a.wav'],
    );
    assert.equal(notices.length, 1);
    assert.match(
      notices[0],
      new RegExp(
        `^${join(t.dir, 'settings.json')}: could not be saved \\(.+\\); a\\.wav opened, but not added to the recent files$`,
      ),
    );
    assert.deepEqual(await t.service.recentFiles(), []);
    await t.service.idle();
    await t.done();
  });
});
