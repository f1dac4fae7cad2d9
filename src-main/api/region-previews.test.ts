import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeFile } from '../engine/audio/decode.ts';
import type { XumxError } from '../engine/errors.ts';
import type { SongControls } from './contract.ts';
import { dispatchCall } from './dispatch.ts';
import { RegionPreviews } from './region-previews.ts';
import { FakeEngine, MemoryAudio, SOURCES } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';

async function setup() {
  const studio = await fakeStudio('xumx-preview-');
  const [job] = await studio.service.open(['/songs/a.wav']);
  await studio.service.idle();
  return { ...studio, job };
}

const louderVocals: SongControls = {
  controls: { wienerIterations: 1, softmask: false, residual: true, strength: { vocals: 2 } },
  presetId: null,
};

/** A preview's stem through the real decoder, from a real file. */
async function decoded(dir: string, bytes: Buffer) {
  const path = join(dir, `preview-${Math.random().toString(36).slice(2)}.wav`);
  await writeFile(path, bytes);
  return decodeFile(path);
}

describe('previewing a part of a song with new controls', () => {
  test('renders the part asked for with the request a re-render would send, and keeps each stem as a 32-bit float WAV', async () => {
    const t = await setup();
    const preview = await t.service.previewRegion(t.job.id, louderVocals, 0.01, 0.005);
    await t.service.rerender(t.job.id, louderVocals);
    const { request, region } = t.engine.regions.at(-1)!;
    assert.deepEqual(request, t.engine.requests.at(-1), 'the same engine request as the re-render of those controls');
    assert.deepEqual(region, { start: 441, frames: 221 }, 'seconds become frames at the song rate');
    assert.equal(preview.jobId, t.job.id);
    assert.equal(preview.sampleRate, 44100);
    assert.equal(preview.startFrame, 441);
    assert.equal(preview.frames, 221);
    assert.deepEqual(preview.sources, [...SOURCES, 'residual']);
    assert.match(preview.id, /^[A-Za-z0-9_-]{8,64}$/);

    const vocals = await decoded(t.dir, t.service.previewFile(t.job.id, preview.id, 'vocals')!);
    assert.equal(vocals.sampleRate, 44100);
    assert.equal(vocals.channels.length, 2);
    assert.equal(vocals.channels[0].length, 221);
    assert.ok(
      vocals.channels[0].every((v) => Math.abs(v - 0.2) < 1e-7),
      'the strength reached the engine and the floats are exact',
    );
    assert.ok(
      vocals.channels[1].every((v, i) => v === Math.fround((441 + i) / 1e6)),
      'the samples are the region, in order, bit for bit',
    );
    const all = await decoded(t.dir, t.service.previewFile(t.job.id, preview.id, null)!);
    assert.equal(all.channels.length, 2 * preview.sources.length, 'every stem in one WAV, two channels each');
    for (const [i, source] of preview.sources.entries()) {
      const one = await decoded(t.dir, t.service.previewFile(t.job.id, preview.id, source)!);
      assert.deepEqual(
        [all.channels[2 * i], all.channels[2 * i + 1]],
        one.channels,
        `${source} at channels ${2 * i} and ${2 * i + 1}`,
      );
    }
    assert.equal(t.service.previewFile(t.job.id, preview.id, 'piano'), null, 'a stem it has not');
    assert.equal(t.service.previewFile(t.job.id, 'nope', 'vocals'), null, 'a preview never made');
    assert.equal(t.service.previewFile('other', preview.id, 'vocals'), null, 'another song');
    await t.done();
  });

  test('cuts a part that runs past the end of the song to the song', async () => {
    const t = await setup();
    // The fake song is 1000 frames long.
    const preview = await t.service.previewRegion(t.job.id, louderVocals, 900 / 44100, 1);
    assert.equal(preview.startFrame, 900);
    assert.equal(preview.frames, 100);
    assert.equal((await decoded(t.dir, t.service.previewFile(t.job.id, preview.id, 'drums')!)).channels[0].length, 100);
    await t.done();
  });

  test('refuses a start or a length out of range, an unfinished song and bad controls, naming the song', async () => {
    const t = await setup();
    const call = (args: unknown[]) => dispatchCall(t.service, 'previewRegion', args);
    for (const [start, seconds, why] of [
      [-1, 5, /a.wav.*start/],
      [0, 0, /a.wav.*30 seconds/],
      [0, 31, /a.wav.*30 seconds/],
      [1, 5, /a.wav.*after the song's end/],
    ] as const) {
      const r = await call([t.job.id, louderVocals, start, seconds]);
      assert.equal(r.ok ? null : r.error.code, 'BAD_ARGUMENT', `${start}, ${seconds}`);
      assert.match(r.ok ? '' : r.error.message, why);
    }
    for (const [start, seconds] of [
      [Number.NaN, 5],
      [0, Number.POSITIVE_INFINITY],
    ]) {
      await assert.rejects(
        t.service.previewRegion(t.job.id, louderVocals, start, seconds),
        (e: XumxError) => e.code === 'BAD_ARGUMENT' && /a\.wav/.test(e.message),
      );
    }
    const text = await call([t.job.id, louderVocals, '0', 5]);
    assert.match(text.ok ? '' : text.error.message, /start must be a number of seconds/);
    const controls = await call([t.job.id, { controls: { strength: { vocals: 99 } }, presetId: null }, 0, 5]);
    assert.match(controls.ok ? '' : controls.error.message, /strength of vocals must be a number/);
    const unknown = await call(['zzz', louderVocals, 0, 5]);
    assert.match(unknown.ok ? '' : unknown.error.message, /no song with id zzz/);
    t.engine.gate = new Promise(() => {});
    const [pending] = await t.service.open(['/songs/b.wav']);
    await assert.rejects(t.service.previewRegion(pending.id, louderVocals, 0, 5), /b\.wav is not separated yet/);
    assert.equal(t.engine.regions.length, 0, 'nothing refused reached the engine');
    await t.service.cancel(pending.id);
    await t.done();
  });

  test('fails with NOT_CACHED when the song has no estimates in the cache, or the engine cannot render a part', async () => {
    const t = await setup();
    t.engine.uncached.add('/songs/a.wav');
    await assert.rejects(
      t.service.previewRegion(t.job.id, louderVocals, 0, 0.01),
      (e: XumxError) => e.code === 'NOT_CACHED' && /a\.wav/.test(e.message),
    );
    const bare = Object.assign(new FakeEngine(new MemoryAudio()), { renderRegion: undefined });
    const [done] = await t.service.listJobs();
    const previews = new RegionPreviews({
      engine: bare,
      jobs: { get: () => done },
      requestFor: (input, controls) => ({ input, outDir: t.dir, controls }),
    });
    await assert.rejects(
      previews.render(t.job.id, louderVocals, 0, 0.01),
      (e: XumxError) => e.code === 'NOT_CACHED' && /a\.wav/.test(e.message),
    );
    await t.done();
  });

  test('a newer preview of a song cancels one still rendering', async () => {
    const t = await setup();
    let open!: () => void;
    t.engine.gate = new Promise((r) => {
      open = r;
    });
    const first = t.service.previewRegion(t.job.id, louderVocals, 0, 0.01);
    const second = t.service.previewRegion(
      t.job.id,
      { ...louderVocals, controls: { ...louderVocals.controls, strength: { vocals: 0.5 } } },
      0,
      0.01,
    );
    await assert.rejects(first, (e: XumxError) => e.code === 'CANCELLED');
    open();
    const kept = await second;
    assert.equal(kept.frames, 441);
    await t.done();
  });

  test('keeps the last four previews only, and none of a song once it is removed', async () => {
    const t = await setup();
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await t.service.previewRegion(t.job.id, louderVocals, 0, 0.01));
    assert.equal(t.service.previewFile(t.job.id, made[0].id, 'vocals'), null, 'the oldest went');
    for (const p of made.slice(1)) assert.ok(t.service.previewFile(t.job.id, p.id, 'vocals'), 'the newer four stay');
    await t.service.remove(t.job.id);
    for (const p of made) assert.equal(t.service.previewFile(t.job.id, p.id, 'vocals'), null);
    await t.done();
  });

  test('drops the oldest previews once their audio passes the memory bound, but always keeps the newest', async () => {
    const t = await setup();
    const [done] = await t.service.listJobs();
    const jobs = { get: () => done };
    // One 441-frame preview of 5 stereo float stems is about 17.7 kB of sample data, kept twice (each stem, and all in one).
    const previews = new RegionPreviews({
      engine: t.engine,
      jobs,
      requestFor: (input, controls) => ({ input, outDir: t.dir, controls }),
      maxBytes: 80_000,
    });
    const a = await previews.render(t.job.id, louderVocals, 0, 0.01);
    const b = await previews.render(t.job.id, louderVocals, 0, 0.01);
    const c = await previews.render(t.job.id, louderVocals, 0, 0.01);
    assert.equal(previews.file(t.job.id, a.id, 'vocals'), null);
    assert.ok(previews.file(t.job.id, b.id, 'vocals'));
    assert.ok(previews.file(t.job.id, c.id, 'vocals'));
    const tiny = new RegionPreviews({
      engine: t.engine,
      jobs,
      requestFor: (input, controls) => ({ input, outDir: t.dir, controls }),
      maxBytes: 10,
    });
    const only = await tiny.render(t.job.id, louderVocals, 0, 0.01);
    assert.ok(
      tiny.file(t.job.id, only.id, 'vocals'),
      'a preview larger than the bound is still kept until the next one',
    );
    await t.done();
  });
});
