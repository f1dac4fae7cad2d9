// End to end in browser mode: a data folder the app cannot save into does not stop a song from opening, and the page
// says what was not saved.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();

describe('browser mode on a data folder that cannot be saved into', { skip: reason ?? false, timeout: 300_000 }, () => {
  let s: Studio;
  before(async () => {
    s = await startStudio({ models: false });
  });
  after(async () => {
    await s?.close();
  });

  test('queues an uploaded song and shows in the notice bar why it is not in the recent files', async () => {
    // A folder where the settings file belongs: saving fails as on a full or read-only data folder, even for root.
    mkdirSync(join(s.dir, 'data', 'settings.json'));
    const song = join(s.dir, 'kept.wav');
    writeFileSync(song, 'RIFF');
    await s.page.getByTestId('file-input').first().setInputFiles(song);
    await s.page.getByTestId('queue-item').filter({ hasText: 'kept.wav' }).waitFor({ timeout: 30_000 });
    const notice = s.page.getByRole('status').filter({ hasText: 'recent files' });
    await notice.waitFor({ timeout: 30_000 });
    assert.match(
      (await notice.textContent()) ?? '',
      /settings\.json: could not be saved \(.+\); kept\.wav opened, but not added to the recent files/,
    );
  });
});

if (reason) test(`data folder end-to-end tests skipped: ${reason}`, { skip: reason }, () => {});
