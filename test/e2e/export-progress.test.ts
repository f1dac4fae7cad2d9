// End to end in browser mode: an export tells how far it is and can be stopped from the Export dialog, leaving no
// file behind. Real server, real engine (tiny random-weight X-UMX), real chromium; the song is long enough (two
// minutes) that its stems take a few seconds to write as FLAC, so the dialog is seen at work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { screenshot, separateInPage, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();

describe('export progress and cancel, end to end', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;

  before(async () => {
    s = await startStudio();
    const song = join(s.dir, 'Long Song.wav');
    await makeSong(song, { seconds: 120, sampleRate: 44100, channels: 2, seed: 9 });
    await separateInPage(s, song);
  });

  after(async () => {
    await s?.close();
  });

  const dialog = () => s.page.getByRole('dialog', { name: 'Export' });

  test('Cancel export stops a running stems export: the dialog says nothing was written, and the folder is empty', async () => {
    await s.page.getByRole('button', { name: 'Export…' }).click();
    const d = dialog();
    await d.getByLabel('Format').selectOption('flac');
    await d.getByLabel('Bit depth').selectOption('24');
    const folder = join(s.dir, 'cancelled');
    await d.getByLabel('Folder').fill(folder);
    await d.getByRole('button', { name: 'Export stems' }).click();
    const progress = d.getByTestId('export-progress');
    await progress.waitFor();
    await screenshot(s.page, '07-export-progress');
    await d.getByRole('button', { name: 'Cancel export' }).click();
    await d.getByTestId('export-cancelled').waitFor();
    await progress.waitFor({ state: 'detached' });
    assert.equal(await d.getByRole('alert').count(), 0, 'a cancel is not an error');
    assert.deepEqual(existsSync(folder) ? readdirSync(folder) : [], []);
    // The same export again, left to run, shows how far it is, writes every stem and says so.
    await d.getByRole('button', { name: 'Export stems' }).click();
    await s.page.waitForFunction(
      () => {
        const doc = (globalThis as unknown as { document: { querySelector(q: string): { value: number } | null } })
          .document;
        return (doc.querySelector('[data-testid=export-progress] progress')?.value ?? 0) > 0;
      },
      undefined,
      { polling: 20 },
    );
    await d.getByTestId('export-result').waitFor({ timeout: 300_000 });
    assert.equal(await d.getByTestId('export-cancelled').count(), 0);
    assert.deepEqual(readdirSync(folder).sort(), [
      'Long Song - bass.flac',
      'Long Song - drums.flac',
      'Long Song - other.flac',
      'Long Song - vocals.flac',
    ]);
    await d.getByRole('button', { name: 'Close' }).click();
  });

  test('closing the dialog while an export runs stops it, leaving nothing', async () => {
    const ids: string[] = [];
    const off = s.service.onEvent((e) => {
      if (e.type === 'export-progress' && !ids.includes(e.exportId)) ids.push(e.exportId);
    });
    await s.page.getByRole('button', { name: 'Export…' }).click();
    const d = dialog();
    await d.getByLabel('Format').selectOption('flac');
    const folder = join(s.dir, 'closed');
    await d.getByLabel('Folder').fill(folder);
    await d.getByRole('button', { name: 'Export stems' }).click();
    // A block written: the first stem's file is being written under its hidden name.
    while (ids.length === 0) await new Promise((r) => setTimeout(r, 20));
    await d.getByRole('button', { name: 'Close' }).click();
    await d.waitFor({ state: 'detached' });
    // It has ended once no file is being written: a cancelled one removes its hidden file, a finished one renames it.
    const writing = () => readdirSync(folder).some((f) => f.endsWith('.partial'));
    while (writing()) await new Promise((r) => setTimeout(r, 50));
    off();
    assert.deepEqual(readdirSync(folder), []);
  });
});
