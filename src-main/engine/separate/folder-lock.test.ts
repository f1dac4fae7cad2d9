import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onSmallDisk } from '../../../test/fixtures/small-disk.ts';
import { LOCK_FILE, lockStemFolder } from './folder-lock.ts';

/** Writes into `dir` until its disk takes no more. */
async function fill(dir: string): Promise<void> {
  await writeFile(join(dir, 'filler'), Buffer.alloc(1024 * 1024)).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== 'ENOSPC') throw e;
  });
}

describe("a song's stem folder lock", () => {
  test('leaves no lock behind when the disk is too full to write it, so the next job takes the folder at once', async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'xumx-lock-'));
    const disk = join(root, 'disk');
    await mkdir(disk);
    await onSmallDisk(t, disk, '64k', async () => {
      const song = join(disk, 'song');
      await mkdir(song);
      await fill(disk);
      await assert.rejects(lockStemFolder(song), (e: NodeJS.ErrnoException) => e.code === 'ENOSPC');
      assert.deepEqual(await readdir(song), [], 'no empty lock file is left');
      await rm(join(disk, 'filler'));
      const lock = await lockStemFolder(song);
      assert.deepEqual(await readdir(song), [LOCK_FILE]);
      await lock.release();
      assert.deepEqual(await readdir(song), []);
    });
    await rm(root, { recursive: true, force: true });
  });
});
