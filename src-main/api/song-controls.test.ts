import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XumxError } from '../engine/errors.ts';
import type { SongControls } from './contract.ts';
import { memoryControlsStore, openControlsStore, type ControlsStore } from './controls-store.ts';
import { dispatchCall } from './dispatch.ts';
import { fakeStudio } from './testing/studio.ts';

async function setup() {
  const studio = await fakeStudio('xumx-rerender-', {
    deps: async (dir) => ({ controls: await openControlsStore(dir) }),
  });
  const [job] = await studio.service.open(['/songs/a.wav']);
  await studio.service.idle();
  return { ...studio, job };
}

const louderVocals: SongControls = {
  controls: { wienerIterations: 1, softmask: false, residual: false, strength: { vocals: 0.6 } },
  presetId: null,
};

describe('re-rendering a finished song', () => {
  test('passes the controls to the engine, bumps the revision and saves them for the song', async () => {
    const t = await setup();
    const before = await t.service.getSongControls(t.job.id);
    assert.deepEqual(before, { controls: { wienerIterations: 1, softmask: false, residual: false }, presetId: null });
    const view = await t.service.rerender(t.job.id, louderVocals);
    assert.deepEqual(t.engine.requests.at(-1)?.controls, louderVocals.controls);
    assert.equal(view.result?.revision, 1);
    assert.deepEqual(view.result?.controls, louderVocals.controls);
    assert.equal(view.state, 'done');
    assert.equal(view.rerender, null);
    assert.deepEqual(await t.service.getSongControls(t.job.id), louderVocals);
    // The same song opened again starts from its saved controls.
    await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.deepEqual(t.engine.requests.at(-1)?.controls, louderVocals.controls);
    const saved = JSON.parse(await readFile(join(t.dir, 'song-controls.json'), 'utf8'));
    assert.deepEqual(saved.songs['/songs/a.wav'], louderVocals);
    await t.done();
  });

  test("a re-render whose controls cannot be saved still becomes the song's render, and a notice says so", async () => {
    // The stems on disk are the new render by then: the job must show it, not the render it replaced.
    const t = await setup();
    const base = memoryControlsStore();
    const failing: ControlsStore = {
      userPresets: () => base.userPresets(),
      savePreset: (p) => base.savePreset(p),
      deletePreset: (id) => base.deletePreset(id),
      song: (input) => base.song(input),
      setSong: () =>
        Promise.reject(
          new XumxError('OUTPUT_NOT_WRITABLE', `${join(t.dir, 'song-controls.json')}: cannot be saved (read-only)`),
        ),
      notices: [],
    };
    const studio = await fakeStudio('xumx-rerender-unsaved-', { deps: async () => ({ controls: failing }) });
    const notices: string[] = [];
    studio.service.onEvent((e) => {
      if (e.type === 'notice') notices.push(e.message);
    });
    const [job] = await studio.service.open(['/songs/a.wav']);
    await studio.service.idle();
    const view = await studio.service.rerender(job.id, louderVocals);
    assert.equal(view.result?.revision, 1);
    assert.deepEqual(view.result?.controls, louderVocals.controls);
    assert.deepEqual((await studio.service.listJobs())[0].result?.controls, louderVocals.controls);
    assert.equal(notices.length, 1, notices.join('\n'));
    assert.match(notices[0], /song-controls\.json: cannot be saved \(read-only\)/);
    assert.match(notices[0], /a\.wav/);
    await studio.done();
    await t.done();
  });

  test('a newer request supersedes one still running, which fails as cancelled', async () => {
    const t = await setup();
    let open!: () => void;
    t.engine.gate = new Promise((r) => {
      open = r;
    });
    const first = t.service.rerender(t.job.id, louderVocals);
    const second = t.service.rerender(t.job.id, {
      ...louderVocals,
      controls: { ...louderVocals.controls, strength: { vocals: 2 } },
    });
    open();
    await assert.rejects(first, (e: XumxError) => e.code === 'CANCELLED');
    const view = await second;
    assert.deepEqual(view.result?.controls?.strength, { vocals: 2 });
    // The replaced re-render had number 1 (its listening copy may have been heard): numbers are never reused.
    assert.equal(view.result?.revision, 2);
    await t.done();
  });

  test('refuses a song that is not finished and controls that are out of range', async () => {
    const t = await setup();
    t.engine.gate = new Promise(() => {});
    const [pending] = await t.service.open(['/songs/b.wav']);
    await assert.rejects(t.service.rerender(pending.id, louderVocals), /not separated yet/);
    const bad = await dispatchCall(t.service, 'rerender', [
      t.job.id,
      { controls: { strength: { vocals: 99 } }, presetId: null },
    ]);
    assert.deepEqual(bad.ok ? null : bad.error.code, 'BAD_ARGUMENT');
    const unknown = await dispatchCall(t.service, 'rerender', [
      t.job.id,
      { controls: { loudness: 3 }, presetId: null },
    ]);
    assert.match(unknown.ok ? '' : unknown.error.message, /unknown field "loudness"/);
    t.service.cancel(pending.id);
    await t.done();
  });
});

describe('presets through the service', () => {
  test('lists built-ins, saves, persists and deletes user presets, and protects built-ins', async () => {
    const t = await setup();
    const builtIn = await t.service.listPresets();
    assert.ok(builtIn.some((p) => p.id === 'karaoke' && p.builtIn));
    const mine = {
      id: 'my-band',
      name: 'My band',
      controls: { strength: { drums: 1.3 } },
      mute: ['vocals'],
      gainsDb: {},
      builtIn: false,
    };
    const after = await dispatchCall(t.service, 'savePreset', [mine]);
    assert.ok(after.ok && (after.value as { id: string }[]).some((p) => p.id === 'my-band'));
    const reopened = await openControlsStore(t.dir);
    assert.deepEqual(
      reopened.userPresets().map((p) => p.id),
      ['my-band'],
    );
    await assert.rejects(t.service.deletePreset('karaoke'), /built-in/);
    const left = await t.service.deletePreset('my-band');
    assert.ok(!left.some((p) => p.id === 'my-band'));
    await t.done();
  });

  test('a damaged presets file is reported once and the app starts with the built-ins', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-presets-'));
    await writeFile(join(dir, 'presets.json'), '{"version":1,"presets":[{"id":"x"}]}');
    await writeFile(join(dir, 'song-controls.json'), 'not json');
    const store = await openControlsStore(dir);
    assert.deepEqual(store.userPresets(), []);
    assert.equal(store.notices.length, 2);
    assert.match(store.notices[0], /presets\.json.*not loaded/);
    assert.match(store.notices[1], /song-controls\.json: ignored/);
    await rm(dir, { recursive: true, force: true });
  });
});
