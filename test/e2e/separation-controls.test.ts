// End to end in browser mode: moving a per-instrument separation control re-renders the song from the estimate
// cache (no network) while it plays, the new audio takes over without the editor reloading, and the exported
// stem is the re-rendered one; the waveforms show the audio heard (also across A/B), and giving the leftover its own
// stem adds and removes that lane in place while playback and the mixer carry on.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { makeSong } from '../fixtures/audio.ts';
import { screenshot, separateInPage, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
type PageElement = {
  getAttribute(n: string): string | null;
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  shadowRoot: { querySelectorAll(s: string): ArrayLike<PageElement> } | null;
  querySelectorAll(s: string): ArrayLike<PageElement>;
  toDataURL(): string;
};
type PageDocument = { querySelector(s: string): PageElement | null };
// These run in the page (playwright sends their source), so each stands alone.
const revisionIs = (n: number) =>
  (globalThis as unknown as { document: PageDocument }).document
    .querySelector('[data-testid=separation-controls]')
    ?.getAttribute('data-revision') === String(n);
/**
 * The PNG data URLs of every canvas wavesurfer drew for one stem (inside its shadow root), once they differ from
 * `not` (and equal `is`, when given); null until then, so waitForFunction polls for it.
 */
const wavePixels = (a: { source: string; not?: string | null; is?: string }) => {
  const host = (globalThis as unknown as { document: PageDocument }).document.querySelector(
    `[data-testid=waveform][data-source="${a.source}"]`,
  );
  const canvases = host
    ? Array.from(host.querySelectorAll('*')).flatMap((el) =>
        el.shadowRoot ? Array.from(el.shadowRoot.querySelectorAll('canvas')) : [],
      )
    : [];
  const px = canvases.length ? canvases.map((c) => c.toDataURL()).join('|') : null;
  if (px === null || px === a.not || (a.is !== undefined && px !== a.is)) return null;
  return px;
};

describe('separation controls end to end', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let song: string;
  /** The vocal stem exported from the first separation, before any control moved. */
  let firstVocals: Float32Array[];

  before(async () => {
    s = await startStudio();
    song = join(s.dir, 'Controls Song.wav');
    await makeSong(song, { seconds: 8, sampleRate: 44100, channels: 2, seed: 11 });
  });

  after(async () => {
    await s?.close();
  });

  async function exportVocals(folder: string): Promise<Float32Array[]> {
    await s.page.getByRole('button', { name: 'Export…' }).click();
    const d = s.page.getByRole('dialog', { name: 'Export' });
    for (const name of ['drums', 'bass', 'other']) await d.getByLabel(name, { exact: true }).uncheck();
    await d.getByLabel('vocals', { exact: true }).check();
    await d.getByLabel('Format').selectOption('wav');
    await d.getByLabel('Bit depth').selectOption('32f');
    await d.getByLabel('Folder').fill(join(s.dir, folder));
    await d.getByRole('button', { name: 'Export stems' }).click();
    const result = d.getByTestId('export-result');
    await result.waitFor();
    const file = (await result.locator('li').first().textContent())!.trim();
    await d.getByRole('button', { name: 'Close' }).click();
    assert.match(file, /vocals\.wav$/);
    return (await decodeFile(file)).channels;
  }

  const maxDiff = (a: Float32Array[], b: Float32Array[]) =>
    a.reduce((m, ch, c) => ch.reduce((w, v, i) => Math.max(w, Math.abs(v - b[c][i])), m), 0);

  test('moving the vocal strength slider while playing re-renders from the cache and changes the exported stem', async () => {
    await separateInPage(s, song);
    const panel = s.page.getByTestId('separation-controls');
    await panel.waitFor({ timeout: 60_000 });
    const before = await exportVocals('before');
    firstVocals = before;

    await s.page.getByRole('button', { name: 'Separation' }).click();
    await s.page.getByTestId('play').click();
    await s.page.getByLabel('vocals separation strength').fill('1.2');
    await s.page.waitForFunction(revisionIs, 1, { timeout: 120_000 });
    await s.page.getByTestId('rerender-status').filter({ hasText: 'Updated' }).waitFor({ timeout: 30_000 });
    await screenshot(s.page, 'separation-controls');

    const [job] = await s.service.listJobs();
    assert.equal(job.result?.estimates, 'cache', 'the re-render did not run the network');
    assert.deepEqual(
      job.result?.controls?.strength,
      { vocals: Math.round(2 ** 1.2 * 1000) / 1000 },
      'slider position 1.2 is strength 2^1.2',
    );
    const afterExport = await exportVocals('after');
    assert.ok(maxDiff(before, afterExport) > 1e-3, 'the exported vocal stem changed');
    // The editor stayed (no reload) and offers the previous render for comparison.
    const ab = s.page.getByRole('button', { name: /B: current/ });
    await ab.click();
    await s.page.getByRole('button', { name: /A: previous/ }).waitFor();
    assert.equal(await s.page.getByRole('button', { name: /A: previous/ }).getAttribute('aria-pressed'), 'true');
    assert.equal(
      await s.page.getByLabel('vocals separation strength').inputValue(),
      '0',
      "while A plays the slider shows A's setting",
    );
  });

  test('exporting while A plays says that export writes B, and keeping A makes A what is exported', async () => {
    // The previous test left the A side (the first render) playing.
    await s.page.getByRole('button', { name: 'Export…' }).click();
    const d = s.page.getByRole('dialog', { name: 'Export' });
    const note = d.getByTestId('export-previous');
    await note.waitFor();
    await screenshot(s.page, 'export-while-hearing-a');
    await d.getByRole('button', { name: 'Keep A' }).click();
    await s.page.waitForFunction(revisionIs, 2, { timeout: 120_000 });
    await note.waitFor({ state: 'detached', timeout: 30_000 });
    await d.getByRole('button', { name: 'Close' }).click();

    const [job] = await s.service.listJobs();
    assert.deepEqual(job.result?.controls?.strength ?? {}, {}, "the song's separation is A's again (neutral strength)");
    assert.equal(
      await s.page.getByLabel('vocals separation strength').inputValue(),
      '0',
      "the slider shows A's setting",
    );
    await s.page.getByRole('button', { name: /B: current/ }).waitFor();
    const kept = await exportVocals('kept');
    assert.ok(
      maxDiff(firstVocals, kept) < 1e-6,
      `the exported vocals are A's (max difference ${maxDiff(firstVocals, kept)})`,
    );
    // and the switch now compares A with the 1.2 render
    await s.page.getByRole('button', { name: /B: current/ }).click();
    assert.equal(
      await s.page.getByLabel('vocals separation strength').inputValue(),
      '1.2',
      "the 1.2 render's setting while it plays",
    );
    await s.page.getByRole('button', { name: /A: previous/ }).click();
    assert.equal(await s.page.getByLabel('vocals separation strength').inputValue(), '0');
    // Keeping and switching re-rendered once, no more (a later debounced re-render would show up well within this)
    await s.page.waitForTimeout(1500);
    const [again] = await s.service.listJobs();
    assert.equal(again.result?.revision, 2, 'one re-render for Keep A; the A/B switch itself renders nothing');
  });

  test('a big vocal strength change (to 0.25) redraws the vocal waveform from the new audio, and A/B brings the old picture back', async () => {
    await s.page.getByRole('button', { name: /B: current/ }).waitFor();
    const pixels = async (a: Parameters<typeof wavePixels>[0]) =>
      (await s.page.waitForFunction(wavePixels, a, { timeout: 30_000 })).jsonValue() as Promise<string>;
    const current = await pixels({ source: 'vocals' });

    await s.page.getByLabel('vocals separation strength').fill('-2');
    await s.page.waitForFunction(revisionIs, 3, { timeout: 120_000 });
    const redrawn = await pixels({ source: 'vocals', not: current });
    await screenshot(s.page, 'separation-waveform-redrawn');
    assert.notEqual(redrawn, current, 'the vocal waveform shows the re-rendered audio');

    await s.page.getByRole('button', { name: /B: current/ }).click();
    await pixels({ source: 'vocals', is: current });
    await s.page.getByRole('button', { name: /A: previous/ }).click();
    await pixels({ source: 'vocals', is: redrawn });
  });

  test('giving the leftover its own stem adds and removes the residual lane in place, playing on with the mix kept', async () => {
    const lanes = () => s.page.getByTestId('waveform');
    const startPlaying = async () => {
      await s.page.getByRole('button', { name: 'Back to start' }).click();
      if ((await s.page.getByTestId('play').getAttribute('aria-label')) === 'Play')
        await s.page.getByTestId('play').click();
      await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    };
    await s.page.getByRole('button', { name: 'Mute drums' }).click();
    // A mark on the timeline element: a reloaded editor would draw a fresh one without it.
    await s.page.getByTestId('timeline').evaluate((el) => {
      (el as unknown as PageElement).dataset.mark = 'same-editor';
    });
    const stems = await lanes().evaluateAll((els) => els.map((e) => e.getAttribute('data-source')));
    assert.equal(stems.length, 4);

    await startPlaying();
    await s.page.getByLabel('Residual handling').selectOption('stem');
    await s.page.waitForFunction(revisionIs, 4, { timeout: 120_000 });
    await s.page.locator('[data-testid=waveform][data-source=residual]').waitFor({ timeout: 30_000 });
    await screenshot(s.page, 'separation-residual-lane');
    assert.deepEqual(await lanes().evaluateAll((els) => els.map((e) => e.getAttribute('data-source'))), [
      ...stems,
      'residual',
    ]);
    assert.equal(
      await s.page.getByTestId('timeline').getAttribute('data-mark'),
      'same-editor',
      'the editor was not reloaded',
    );
    assert.equal(
      await s.page.getByRole('button', { name: 'Mute drums' }).getAttribute('aria-pressed'),
      'true',
      'the mixer kept drums muted',
    );
    assert.equal(await s.page.getByTestId('play').getAttribute('aria-label'), 'Pause', 'still playing');
    assert.notEqual(await s.page.getByTestId('position').textContent(), '0:00.0', 'the playhead moved on');
    await s.page.getByRole('group', { name: /residual stem/ }).waitFor();
    const [job] = await s.service.listJobs();
    assert.deepEqual(job.result?.sources, [...stems, 'residual']);

    await startPlaying();
    await s.page.getByLabel('Residual handling').selectOption('other');
    await s.page.waitForFunction(revisionIs, 5, { timeout: 120_000 });
    await s.page
      .locator('[data-testid=waveform][data-source=residual]')
      .waitFor({ state: 'detached', timeout: 30_000 });
    assert.deepEqual(await lanes().evaluateAll((els) => els.map((e) => e.getAttribute('data-source'))), stems);
    assert.equal(await s.page.getByRole('group', { name: /residual stem/ }).count(), 0, 'its mixer strip went too');
    assert.equal(
      await s.page.getByTestId('timeline').getAttribute('data-mark'),
      'same-editor',
      'the editor was not reloaded',
    );
    assert.equal(
      await s.page.getByRole('button', { name: 'Mute drums' }).getAttribute('aria-pressed'),
      'true',
      'the mixer kept drums muted',
    );
  });

  test("a change made while A plays starts from A's settings, and the switch then compares it with A", async () => {
    // B (revision 5) adds the leftover to "other"; A (revision 4) gives it its own stem.
    await s.page.getByRole('button', { name: /B: current/ }).click();
    await s.page.getByRole('button', { name: /A: previous/ }).waitFor();
    assert.equal(await s.page.getByLabel('Residual handling').inputValue(), 'stem', "A's leftover setting is shown");
    await s.page.getByLabel('vocals separation strength').fill('0');
    await s.page.waitForFunction(revisionIs, 6, { timeout: 120_000 });
    const [job] = await s.service.listJobs();
    assert.equal(job.result?.controls?.residual, true, "the new render kept A's own leftover stem");
    assert.deepEqual(job.result?.controls?.strength ?? {}, {}, 'with the new vocal strength');
    assert.equal(await s.page.getByLabel('Residual handling').inputValue(), 'stem');

    await s.page.getByRole('button', { name: /B: current/ }).click();
    await s.page.getByRole('button', { name: /A: previous/ }).waitFor();
    assert.equal(await s.page.getByLabel('vocals separation strength').inputValue(), '-2', 'the switch goes back to A');
    assert.equal(await s.page.getByLabel('Residual handling').inputValue(), 'stem', 'A, not the render before it');
  });
});
