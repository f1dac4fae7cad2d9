// A render's waveforms from its listening copy, through the service: as far as its frames are final while it is
// written, for each kept revision, and for a copy dropped over the cap as it is written again from the stems.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { JobView, ListenPeaks, SongControls, StudioEvent } from './contract.ts';
import { dispatchCall } from './dispatch.ts';
import { SOURCES } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';

const LENGTH = 1000;
const BUCKETS = 20;

async function setup(listenCap?: number) {
  const studio = await fakeStudio('xumx-listen-peaks-', {
    frames: LENGTH,
    deps: (dir) => ({ listenDir: join(dir, 'listening'), ...(listenCap !== undefined ? { listenCap } : {}) }),
  });
  const { engine, service } = studio;
  const events: JobView[] = [];
  service.onEvent((e: StudioEvent) => {
    if (e.type === 'job') events.push(e.job);
  });
  let open!: () => void;
  return {
    engine,
    service,
    events,
    close: () => {
      engine.gate = new Promise((r) => {
        open = r;
      });
    },
    open: () => open(),
    done: async () => {
      await service.dispose();
      await studio.done();
    },
  };
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`never happened: ${what}`);
}

/**
 * The fake engine writes stem k as (k + 1) / 10 times its strength on the left and frame / 1e6 on the right: each
 * bucket's top is the stem's level, and only the buckets the final frames reach have one.
 */
function assertLevels(peaks: ListenPeaks, levels: number[], readyFrames: number) {
  assert.equal(peaks.readyFrames, readyFrames);
  assert.equal(peaks.frames, LENGTH);
  assert.equal(peaks.sampleRate, 44100);
  assert.deepEqual(
    peaks.stems.map((s) => s.source),
    SOURCES,
  );
  for (const [k, stem] of peaks.stems.entries()) {
    assert.ok(stem.max.length <= BUCKETS, `${stem.max.length} buckets`);
    assert.equal(stem.max.length, Math.ceil(LENGTH / peaks.bucketFrames));
    assert.equal(stem.duration, (stem.max.length * peaks.bucketFrames) / 44100);
    const readyBuckets = Math.ceil(readyFrames / peaks.bucketFrames);
    assert.deepEqual(
      stem.max,
      stem.max.map((_, b) => (b < readyBuckets ? levels[k] : 0)),
      `${stem.source}: its level where final, 0 beyond`,
    );
    assert.ok(
      stem.min.every((v) => v >= 0 && v <= LENGTH / 1e6),
      `${stem.source}: the right channel's frame numbers at the bottom`,
    );
  }
}

const LEVELS = SOURCES.map((_, k) => (k + 1) / 10);

describe("a render's peaks from its listening copy", () => {
  test('are served while the first separation runs, as far as its frames are final, then for the whole song', async () => {
    const t = await setup();
    t.close();
    const [job] = await t.service.open(['/songs/a.wav']);
    await until('half the song is final', () => t.events.some((e) => e.listen?.readyFrames === LENGTH / 2));
    assert.equal((await t.service.listJobs())[0].state, 'running');
    assertLevels((await t.service.listenPeaks(job.id, 0, BUCKETS))!, LEVELS, LENGTH / 2);
    t.open();
    await t.service.idle();
    assertLevels((await t.service.listenPeaks(job.id, 0, BUCKETS))!, LEVELS, LENGTH);
    await t.done();
  });

  test('follow a re-render as its frames become final, and the render before it stays as it was', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const louder: SongControls = {
      controls: { wienerIterations: 1, softmask: false, residual: false, strength: { vocals: 3 } },
      presetId: null,
    };
    t.close();
    const rerender = t.service.rerender(job.id, louder);
    await until('half the re-render is final', () =>
      t.events.some((e) => e.rerender?.listen?.revision === 1 && e.rerender.listen.readyFrames === LENGTH / 2),
    );
    const loud = [0.3, ...LEVELS.slice(1)];
    assertLevels((await t.service.listenPeaks(job.id, 1, BUCKETS))!, loud, LENGTH / 2);
    t.open();
    assert.equal((await rerender).result?.revision, 1);
    assertLevels((await t.service.listenPeaks(job.id, 1, BUCKETS))!, loud, LENGTH);
    assertLevels((await t.service.listenPeaks(job.id, 0, BUCKETS))!, LEVELS, LENGTH);
    await t.done();
  });

  test('of a copy dropped over the cap come back as it is written again from the stems, asked for by the peaks alone', async () => {
    const t = await setup(1);
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    await until('the copy is dropped', async () => (await t.service.listJobs())[0].listen?.readyFrames === 0);
    const dropped = (await t.service.listenPeaks(job.id, 0, BUCKETS))!;
    assert.equal(dropped.readyFrames, 0);
    assert.ok(
      dropped.stems.every((s) => s.max.every((v) => v === 0)),
      'nothing drawn from a copy that is not there',
    );
    await until(
      'the copy is written again',
      async () => (await t.service.listJobs())[0].listen?.readyFrames === LENGTH,
    );
    // The fake's stems hold the level on both channels.
    const back = (await t.service.listenPeaks(job.id, 0, BUCKETS))!;
    assert.equal(back.readyFrames, LENGTH);
    for (const [k, stem] of back.stems.entries()) {
      assert.ok(stem.max.every((v) => v === LEVELS[k]));
      assert.ok(stem.min.every((v) => v === LEVELS[k]));
    }
    await t.done();
  });

  test('are null for a render not kept, and a song not in the queue or a bad revision is refused', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.equal(await t.service.listenPeaks(job.id, 5, BUCKETS), null);
    await assert.rejects(t.service.listenPeaks('nope', 0, BUCKETS), { code: 'BAD_ARGUMENT' });
    for (const args of [
      [job.id, -1, BUCKETS],
      [job.id, 0.5, BUCKETS],
      [job.id, 0, 1],
      [job.id, 0],
    ]) {
      const outcome = await dispatchCall(t.service, 'listenPeaks', args);
      assert.equal(outcome.ok, false, JSON.stringify(args));
      assert.equal(!outcome.ok && outcome.error.code, 'BAD_ARGUMENT');
    }
    const served = await dispatchCall(t.service, 'listenPeaks', [job.id, 0, BUCKETS]);
    assert.ok(served.ok && (served.value as ListenPeaks).readyFrames === LENGTH);
    await t.done();
  });
});
