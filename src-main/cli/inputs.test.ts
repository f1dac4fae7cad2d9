import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandInputs } from './inputs.ts';

/** album/ with six songs and `parent`, a link back to the folder above it. */
function albumWithParentLink(): { root: string; album: string } {
  const root = mkdtempSync(join(tmpdir(), 'xumx-inputs-'));
  const album = join(root, 'album');
  mkdirSync(album);
  for (let i = 1; i <= 6; i++) writeFileSync(join(album, `song${i}.wav`), 'x');
  symlinkSync('..', join(album, 'parent'));
  return { root, album };
}

describe('expandInputs', () => {
  test('gives each song once when a folder is reached twice through a link to its parent', async () => {
    const { album } = albumWithParentLink();
    const { files, problems } = await expandInputs([album, join(album, 'parent', 'album')]);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      files,
      [1, 2, 3, 4, 5, 6].map((i) => join(album, `song${i}.wav`)),
    );
  });

  test('gives a song once when it is named both directly and through a link', async () => {
    const { album } = albumWithParentLink();
    const song = join(album, 'song3.wav');
    const { files, problems } = await expandInputs([song, join(album, 'parent', 'album', 'song3.wav')]);
    assert.deepEqual(problems, []);
    assert.deepEqual(files, [song]);
  });

  test('finds the songs in subfolders too, as the app does, and names a folder without any', async () => {
    const root = mkdtempSync(join(tmpdir(), 'xumx-inputs-'));
    mkdirSync(join(root, 'music', 'Album'), { recursive: true });
    mkdirSync(join(root, 'nothing'));
    writeFileSync(join(root, 'music', 'Album', 'track.flac'), 'x');
    const { files, problems } = await expandInputs([join(root, 'music'), join(root, 'nothing')]);
    assert.deepEqual(files, [join(root, 'music', 'Album', 'track.flac')]);
    assert.deepEqual(
      problems.map((p) => [p.input, p.error.code]),
      [[join(root, 'nothing'), 'FILE_NOT_FOUND']],
    );
  });
});
