// The estimate cache is a convenience: when it cannot be written (its folder is a file, its disk is full) the song
// is still separated, the result says "cache not written: …", and no entry (whole or truncated) is left behind.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ffmpegFixture, hasFfmpeg } from '../fixtures/audio.ts';
import { filesUnder, runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';
import { onSmallDisk } from '../fixtures/small-disk.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;

describe('xumx-studio separate with a cache that cannot be written', { skip }, () => {
  let models: string;
  let song: string;
  before(() => {
    models = testModel().root;
    song = ffmpegFixture(join(tempDir('cache-song'), 'song.wav'), {
      seconds: 1,
      codecArgs: ['-c:a', 'pcm_s16le'],
      container: 'wav',
    });
  });

  const separate = async (cacheDir: string) => {
    const r = await runCli(
      ['separate', song, '--out', tempDir('cache-out'), '--models-dir', models, '--cache-dir', cacheDir, '--json'],
      { timeoutMs: 120_000 },
    );
    assert.equal(r.code, 0, r.stdout + r.stderr);
    return JSON.parse(r.stdout).files[0];
  };

  test('a --cache-dir that is a file: separates without the cache and says so', async () => {
    const file = join(tempDir('cache-file'), 'not-a-folder');
    writeFileSync(file, 'mine');
    const f = await separate(file);
    assert.equal(f.ok, true, JSON.stringify(f.error));
    assert.ok(
      f.notices.some((n: string) => n.startsWith('cache not written: ') && n.includes(file)),
      JSON.stringify(f.notices),
    );
    assert.equal(readFileSync(file, 'utf8'), 'mine');
  });

  test('a full cache disk: separates, says the cache was not written, and keeps no truncated entry', async (t) => {
    const mnt = tempDir('cache-tmpfs');
    await onSmallDisk(t, mnt, '64k', async () => {
      for (const run of ['first', 'second']) {
        const f = await separate(mnt);
        assert.equal(f.ok, true, `${run}: ${JSON.stringify(f.error)}`);
        assert.equal(f.estimates, 'network', run);
        assert.ok(
          f.notices.some((n: string) => n.startsWith('cache not written: ')),
          `${run}: ${JSON.stringify(f.notices)}`,
        );
        assert.deepEqual(filesUnder(mnt), [], `${run}: left in the cache`);
      }
    });
  });
});
