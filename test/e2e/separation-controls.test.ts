// End to end in browser mode: moving a per-instrument separation control re-renders the song from the estimate
// cache (no network) while it plays, the new audio takes over without the editor reloading, and the exported
// stem is the re-rendered one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { makeSong } from '../fixtures/audio.ts';
import { screenshot, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
type PageDocument = { querySelector(s: string): { getAttribute(n: string): string | null; textContent: string | null } | null };
const revisionIs = (n: number) =>
  (globalThis as unknown as { document: PageDocument }).document.querySelector('[data-testid=separation-controls]')?.getAttribute('data-revision') === String(n);

describe('separation controls end to end', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let song: string;

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
    await s.page.getByTestId('file-input').first().setInputFiles(song);
    await s.page.getByTestId('queue-item').first().and(s.page.locator('[data-state=done]')).waitFor({ timeout: 180_000 });
    const panel = s.page.getByTestId('separation-controls');
    await panel.waitFor({ timeout: 60_000 });
    const before = await exportVocals('before');

    await s.page.getByRole('button', { name: 'Separation' }).click();
    await s.page.getByTestId('play').click();
    await s.page.getByLabel('vocals separation strength').fill('1.2');
    await s.page.waitForFunction(revisionIs, 1, { timeout: 120_000 });
    await s.page.getByTestId('rerender-status').filter({ hasText: 'Updated' }).waitFor({ timeout: 30_000 });
    await screenshot(s.page, 'separation-controls');

    const [job] = await s.service.listJobs();
    assert.equal(job.result?.estimates, 'cache', 'the re-render did not run the network');
    assert.deepEqual(job.result?.controls?.strength, { vocals: Math.round(2 ** 1.2 * 1000) / 1000 }, "slider position 1.2 is strength 2^1.2");
    const afterExport = await exportVocals('after');
    assert.ok(maxDiff(before, afterExport) > 1e-3, 'the exported vocal stem changed');
    // The editor stayed (no reload) and offers the previous render for comparison.
    const ab = s.page.getByRole('button', { name: /B: current/ });
    await ab.click();
    await s.page.getByRole('button', { name: /A: previous/ }).waitFor();
    assert.equal(await s.page.getByRole('button', { name: /A: previous/ }).getAttribute('aria-pressed'), 'true');
  });
});
