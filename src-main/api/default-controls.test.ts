// The app's songs start from the model's recommended controls (its manifest's default_controls); what a user or a
// song's saved controls say overrides them, the neutral value included.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SeparationControls } from '../engine/types.ts';
import { openControlsStore } from './controls-store.ts';
import { dispatchCall } from './dispatch.ts';
import { defaultSettings, openSettingsStore } from './settings-store.ts';
import { fakeStudio } from './testing/studio.ts';

const RECOMMENDED = { strength: { vocals: 1.2, bass: 0.8 }, bleed: { other: 0.1 }, wienerIterations: 2 };
/** RECOMMENDED as a complete set of controls. */
const DEFAULTS: SeparationControls = { softmask: false, residual: false, ...RECOMMENDED };

async function setup(dir?: string) {
  const t = await fakeStudio('xumx-defaults-', {
    deps: async (d) => ({ controls: await openControlsStore(dir ?? d) }),
  });
  t.engine.defaultControls = RECOMMENDED;
  return t;
}

describe("a model's recommended controls in the app", () => {
  test('a song never adjusted is separated with them, and its controls panel starts from them', async () => {
    const t = await setup();
    assert.deepEqual((await t.service.listModels())[0].defaultControls, DEFAULTS);
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const req = t.engine.requests[0];
    assert.notEqual(req.controlsBase, 'neutral', 'left out, the model fills in its defaults');
    assert.equal(req.controls?.strength, undefined);
    assert.deepEqual((await t.service.listJobs())[0].result?.controls, DEFAULTS);
    assert.deepEqual(await t.service.getSongControls(job.id), { controls: DEFAULTS, presetId: null });
    await t.done();
  });

  test("the settings' Wiener iterations override the model's only once chosen", async () => {
    const t = await setup();
    assert.equal((await t.service.getSettings()).wienerIterations, null, "by default: the model's");
    await t.service.updateSettings({ wienerIterations: 0 });
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.deepEqual(t.engine.requests[0].controls, { wienerIterations: 0 });
    assert.deepEqual((await t.service.getSongControls(job.id)).controls, { ...DEFAULTS, wienerIterations: 0 });
    // Back to the model's, through the door as the settings panel sends it, and kept across a restart.
    assert.ok((await dispatchCall(t.service, 'updateSettings', [{ wienerIterations: null }])).ok);
    assert.equal(
      (await openSettingsStore(join(t.dir, 'settings.json'), defaultSettings(t.dir))).get().wienerIterations,
      null,
    );
    await t.service.open(['/songs/b.wav']);
    await t.service.idle();
    assert.deepEqual(t.engine.requests.at(-1)?.controls, {});
    await t.done();
  });

  test("a song's re-render runs its own model, not a default model chosen since", async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    await t.settings.update({ modelId: 'another' });
    await t.service.rerender(job.id, { controls: { ...DEFAULTS, strength: { vocals: 2 } }, presetId: null });
    assert.equal(t.engine.requests.at(-1)?.modelId, 'fake', 'the model its stems and recommended controls came from');
    await t.done();
  });

  test('a user who sets a source back to neutral keeps neutral, through a re-render and the song opened again', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    // Vocals at strength 1 (no entry in a complete set) where the model recommends 1.2.
    const chosen: SeparationControls = { ...DEFAULTS, strength: { bass: 0.8 } };
    const view = await t.service.rerender(job.id, { controls: chosen, presetId: null });
    assert.equal(t.engine.requests.at(-1)?.controlsBase, 'neutral');
    assert.deepEqual(view.result?.controls, chosen);
    assert.deepEqual((await t.service.getSongControls(job.id)).controls, chosen);
    await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.equal(t.engine.requests.at(-1)?.controlsBase, 'neutral');
    assert.deepEqual((await t.service.listJobs()).at(-1)?.result?.controls, chosen, 'not back at 1.2');
    await t.done();
  });

  test('a song saved before the model had recommendations keeps sounding as it did', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-defaults-saved-'));
    const saved = { wienerIterations: 1, softmask: false, residual: false, strength: { drums: 2 } };
    await writeFile(
      join(dir, 'song-controls.json'),
      JSON.stringify({ version: 1, songs: { '/songs/a.wav': { controls: saved, presetId: null } } }),
    );
    const t = await setup(dir);
    await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.deepEqual((await t.service.listJobs())[0].result?.controls, saved);
    await t.done();
    await rm(dir, { recursive: true, force: true });
  });

  test("a tempo or loop saved for a song never adjusted keeps the model's controls with it", async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    await t.service.setSongTimePitch(job.id, { tempo: 0.8, semitones: 0 });
    assert.deepEqual((await t.service.getSongControls(job.id)).controls, DEFAULTS);
    await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.deepEqual((await t.service.listJobs()).at(-1)?.result?.controls, DEFAULTS);
    await t.done();
  });
});
