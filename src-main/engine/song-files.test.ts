// One rule for the songs a user names, used by the app's open and by the CLI: folders are searched down to four
// levels, in name order, hidden and non-audio names skipped, every song once.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_FOLDER_DEPTH, songFiles } from './song-files.ts';

function tree(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'xumx-songs-'));
  for (const f of files) {
    const p = join(root, f);
    mkdirSync(join(p, '..'), { recursive: true });
    if (!f.endsWith('/')) writeFileSync(p, 'x');
    else mkdirSync(p, { recursive: true });
  }
  return root;
}

describe('songFiles', () => {
  test('finds the songs of a music folder in its artist and album folders, in name order, skipping hidden and other files', async () => {
    const root = tree([
      'Band/Second Album/01 b.flac',
      'Band/First Album/02 a.mp3',
      'Band/First Album/01 z.m4a',
      'Band/First Album/cover.jpg',
      'Band/.hidden/x.wav',
      'Band/First Album/.x.wav',
      'loose.WAV',
      'notes.txt',
    ]);
    const { files, emptyFolders } = await songFiles([root]);
    assert.deepEqual(
      files,
      ['Band/First Album/01 z.m4a', 'Band/First Album/02 a.mp3', 'Band/Second Album/01 b.flac', 'loose.WAV'].map((f) =>
        join(root, f),
      ),
    );
    assert.deepEqual(emptyFolders, []);
  });

  test(`searches ${MAX_FOLDER_DEPTH} levels below a named folder and no deeper`, async () => {
    const root = tree(['1/2/3/4/deep.wav', '1/2/3/found.wav']);
    assert.deepEqual((await songFiles([root])).files, [join(root, '1/2/3/found.wav')]);
  });

  test('reports a folder without songs, also one whose only subfolders are empty', async () => {
    const root = tree(['empty/', 'nested/inner/', 'nested/readme.txt', 'full/a.wav']);
    const { files, emptyFolders } = await songFiles([join(root, 'empty'), join(root, 'nested'), join(root, 'full')]);
    assert.deepEqual(files, [join(root, 'full/a.wav')]);
    assert.deepEqual(emptyFolders, [join(root, 'empty'), join(root, 'nested')]);
  });

  test('takes a song once, named directly, through its folder and through a link, and a missing file once', async () => {
    const root = tree(['album/a.wav', 'album/b.wav']);
    symlinkSync(join(root, 'album'), join(root, 'link'));
    const missing = join(root, 'gone.wav');
    const { files } = await songFiles([
      join(root, 'album/b.wav'),
      join(root, 'album'),
      join(root, 'link'),
      missing,
      missing,
    ]);
    assert.deepEqual(files, [join(root, 'album/b.wav'), join(root, 'album/a.wav'), missing]);
  });
});
