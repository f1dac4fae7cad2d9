import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultSettings, openSettingsStore, SETTINGS_FILE_VERSION } from './settings-store.ts';
import { settingsPatch } from './validate.ts';

async function tempDir() {
  return mkdtemp(join(tmpdir(), 'xumx-settings-'));
}

/** A folder where the settings file should be makes every rename onto it fail, as a full or locked disk would. */
async function blockFile(file: string) {
  await mkdir(file);
  await writeFile(join(file, 'keep'), '');
}

describe('settings store', () => {
  test('remembers across a restart that the offer of the published weights was closed', async () => {
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    const first = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    assert.equal(first.get().modelOfferDismissed, false);
    await first.update(settingsPatch({ modelOfferDismissed: true }));
    const again = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    assert.equal(again.get().modelOfferDismissed, true);
    assert.throws(() => settingsPatch({ modelOfferDismissed: 'yes' }), {
      code: 'BAD_ARGUMENT',
      message: /modelOfferDismissed must be true or false/,
    });
    await rm(dir, { recursive: true, force: true });
  });

  test('keeps the settings in memory unchanged when saving them fails', async () => {
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    const store = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    await blockFile(file);
    await assert.rejects(store.update({ format: 'flac' }), {
      code: 'OUTPUT_NOT_WRITABLE',
      message: /settings\.json: could not be saved/,
    });
    assert.equal(store.get().format, 'wav');
    await assert.rejects(store.addRecent(['/songs/a.wav']));
    assert.deepEqual(store.recent(), []);
    await rm(dir, { recursive: true, force: true });
  });

  test('saves again after a failed write and leaves no temporary file behind', async () => {
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    const store = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    await blockFile(file);
    await assert.rejects(store.update({ format: 'flac' }));
    await rm(file, { recursive: true });
    await store.update({ format: 'mp3' });
    assert.equal(JSON.parse(await readFile(file, 'utf8')).settings.format, 'mp3');
    assert.deepEqual(await readdir(dir), ['settings.json']);
    await rm(dir, { recursive: true, force: true });
  });

  test('keeps every one of several concurrent updates', async () => {
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    const store = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    await Promise.all([
      store.update({ format: 'flac' }),
      store.update({ bitDepth: 16 }),
      store.addRecent(['/songs/a.wav']),
    ]);
    const reopened = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    assert.equal(reopened.get().format, 'flac');
    assert.equal(reopened.get().bitDepth, 16);
    assert.deepEqual(reopened.recent(), ['/songs/a.wav']);
    await rm(dir, { recursive: true, force: true });
  });

  test('keeps the valid fields of a saved file when one field is refused, and names that field', async () => {
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    // A file from a version that stored the output folder as it was typed: relative.
    await writeFile(
      file,
      JSON.stringify({
        settings: { format: 'flac', bitDepth: 16, outputFolder: 'My Stems', wienerIterations: 3 },
        recent: [],
      }),
    );
    const store = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    assert.deepEqual(
      {
        format: store.get().format,
        bitDepth: store.get().bitDepth,
        wienerIterations: store.get().wienerIterations,
        outputFolder: store.get().outputFolder,
      },
      { format: 'flac', bitDepth: 16, wienerIterations: 3, outputFolder: join(dir, 'stems') },
    );
    assert.match(store.notice ?? '', /outputFolder/);
    assert.doesNotMatch(store.notice ?? '', /format|bitDepth/);
    await rm(dir, { recursive: true, force: true });
  });
  test('a file written before models recommended controls leaves the Wiener iterations to the model', async () => {
    // Older versions saved their default, 1 Wiener iteration, into every settings file: read as a user's choice it
    // would override what a model recommends, so a file without a version reads it as "the model's".
    const dir = await tempDir();
    const file = join(dir, 'settings.json');
    await writeFile(file, JSON.stringify({ settings: { wienerIterations: 1, format: 'flac' }, recent: [] }));
    const old = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    assert.equal(old.get().wienerIterations, null);
    assert.equal(old.get().format, 'flac');
    assert.equal(old.notice, null);

    await writeFile(file, JSON.stringify({ settings: { wienerIterations: 3 }, recent: [] }));
    assert.equal((await openSettingsStore(file, defaultSettings(join(dir, 'stems')))).get().wienerIterations, 3);

    const store = await openSettingsStore(file, defaultSettings(join(dir, 'stems')));
    await store.update({ wienerIterations: 1 }); // chosen now, saved with the file's version: kept as a choice
    assert.equal(JSON.parse(await readFile(file, 'utf8')).version, SETTINGS_FILE_VERSION);
    assert.equal((await openSettingsStore(file, defaultSettings(join(dir, 'stems')))).get().wienerIterations, 1);
    await rm(dir, { recursive: true, force: true });
  });
});
