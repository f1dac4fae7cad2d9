// End to end in browser mode: a model whose manifest recommends controls separates a new song with them, the panel
// shows them as the model's, a source set back to neutral stays neutral, and the reset goes back to the model's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { screenshot, separateInPage, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
const revisionIs = (n: number) =>
  (
    globalThis as unknown as {
      document: { querySelector(s: string): { getAttribute(n: string): string | null } | null };
    }
  ).document
    .querySelector('[data-testid=separation-controls]')
    ?.getAttribute('data-revision') === String(n);
const DEFAULTS = { wienerIterations: 2, softmask: false, residual: false, strength: { vocals: 2 } };

describe("a model's recommended controls end to end", { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let song: string;

  before(async () => {
    s = await startStudio({ modelManifest: { default_controls: { strength: { vocals: 2 }, wiener_iterations: 2 } } });
    song = join(s.dir, 'Defaults Song.wav');
    await makeSong(song, { seconds: 6, sampleRate: 44100, channels: 2, seed: 12 });
  });

  after(async () => {
    await s?.close();
  });

  test('a new song starts from them, a neutral choice is kept, and reset goes back to them', async () => {
    await separateInPage(s, song);
    const panel = s.page.getByTestId('separation-controls');
    await panel.waitFor({ timeout: 60_000 });
    assert.deepEqual((await s.service.listJobs())[0].result?.controls, DEFAULTS);
    await s.page.getByRole('button', { name: 'Separation' }).click();
    const vocals = s.page.getByLabel('vocals separation strength');
    assert.equal(await vocals.inputValue(), '1', 'the slider is at strength 2');
    assert.equal(await s.page.getByTestId('default-tick-strength-vocals').getAttribute('data-value'), '2');
    const reset = s.page.getByTestId('reset-defaults');
    assert.ok(await reset.isDisabled(), 'at the model defaults already');

    await vocals.fill('0');
    await s.page.waitForFunction(revisionIs, 1, { timeout: 120_000 });
    const [moved] = await s.service.listJobs();
    assert.equal(moved.result?.controls?.strength?.vocals, undefined, 'strength 1, not back at the model default 2');
    assert.equal(moved.result?.controls?.wienerIterations, 2);
    await screenshot(s.page, 'model-defaults-moved');

    await reset.click();
    await s.page.waitForFunction(revisionIs, 2, { timeout: 120_000 });
    assert.deepEqual((await s.service.listJobs())[0].result?.controls, DEFAULTS);
    assert.equal(await vocals.inputValue(), '1');
    assert.ok(await reset.isDisabled());
  });
});
