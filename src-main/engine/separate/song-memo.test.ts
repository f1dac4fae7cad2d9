import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { preparedSong, type PipelineDeps } from './pipeline.ts';
import { LastSongMemo } from './song-memo.ts';
import { testSignal } from './testing/fakes.ts';

describe('the last song memo', () => {
  test("removes the kept song's file when told to forget that song, keeps it for any other, and waits for its users", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-song-memo-'));
    try {
      const songs = join(dir, 'songs');
      const input = join(dir, 'song.wav');
      writeFileSync(input, 'a song');
      const memo = new LastSongMemo();
      const deps: PipelineDeps = {
        decode: async () => ({ sampleRate: 44100, channels: testSignal(44100), notices: [] }),
        createStemWriter: () => {
          throw new Error('no stems here');
        },
        songFolder: songs,
        songs: memo,
      };
      const job = await preparedSong(input, deps, undefined);
      await job.song.release();
      assert.equal(readdirSync(songs).length, 1, 'kept for a re-render');

      await memo.forget(join(dir, 'other.wav'));
      await memo.forget(join(dir, 'song'));
      assert.equal(readdirSync(songs).length, 1, 'another song (even one whose path starts the same) keeps it');

      const reading = await preparedSong(input, deps, undefined);
      await memo.forget(input);
      assert.equal(readdirSync(songs).length, 1, 'a job still reads it');
      assert.equal((await reading.song.read(0, 10))[0].length, 10);
      await reading.song.release();
      assert.deepEqual(readdirSync(songs), [], 'gone with its last user');

      await preparedSong(input, deps, undefined).then((p) => p.song.release());
      assert.equal(readdirSync(songs).length, 1, 'prepared again when asked for after it was let go');
      await memo.forget(input);
      assert.deepEqual(readdirSync(songs), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
