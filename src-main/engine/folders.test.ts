// makeFolders: mkdir -p whose failure names the real reason. Node's recursive mkdir answers ENOENT ("no such file or
// directory") on a read-only file system, which would tell a user their folder is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFolders } from './folders.ts';
import { onReadOnlyDisk } from '../../test/fixtures/read-only-disk.ts';

test('makes every missing folder and returns the first one it made, as mkdir -p does', async () => {
  const root = await mkdtemp(join(tmpdir(), 'folders-'));
  assert.equal(await makeFolders(join(root, 'a', 'b', 'c')), join(root, 'a'));
  assert.ok((await stat(join(root, 'a', 'b', 'c'))).isDirectory());
  assert.equal(await makeFolders(join(root, 'a', 'b')), undefined, 'nothing made: already there');
});

test('on a read-only file system fails with EROFS, not ENOENT, however deep the folder', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'folders-ro-'));
  const disk = join(root, 'disk');
  await mkdir(disk);
  await onReadOnlyDisk(
    t,
    disk,
    async () => {
      await mkdir(join(disk, 'there'));
    },
    async () => {
      for (const path of [join(disk, 'new'), join(disk, 'new', 'deeper'), join(disk, 'there', 'new')])
        await assert.rejects(makeFolders(path), (e: NodeJS.ErrnoException) => e.code === 'EROFS', path);
      assert.equal(await makeFolders(join(disk, 'there')), undefined, 'a folder already there is fine');
    },
  );
});

test('a file in the way and a missing parent keep their own reasons', async () => {
  const root = await mkdtemp(join(tmpdir(), 'folders-'));
  await writeFile(join(root, 'file'), 'x');
  await assert.rejects(makeFolders(join(root, 'file', 'sub')), (e: NodeJS.ErrnoException) => e.code === 'ENOTDIR');
});
