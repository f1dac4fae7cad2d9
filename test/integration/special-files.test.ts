// Files that are not files: a named pipe never delivers a byte and /dev/zero never ends. Through the app's service
// (real engine, estimate cache on, as createStudio sets it up) each is refused at once with FILE_UNREADABLE, and the
// queue goes on to the next song. A regression would hang; the bounded waits make it fail instead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { createStudio } from '../../src-main/api/create-studio.ts';
import type { StudioService } from '../../src-main/api/service.ts';
import { ffmpegFixture, hasFfmpeg } from '../fixtures/audio.ts';
import { tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;

/** Rejects after `ms` so that a hang shows as a failure naming what hung. */
function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms / 1000} s`)), ms);
  });
  return Promise.race([work, limit]).finally(() => clearTimeout(timer));
}

describe('special files through the app', { skip }, () => {
  let dir: string;
  let service: StudioService;
  before(async () => {
    dir = tempDir('special');
    ({ service } = await createStudio({
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
      dataDir: join(dir, 'data'),
      modelDirs: [testModel().root],
      allowTestModels: true,
      outputFolder: join(dir, 'stems'),
    }));
  });
  after(async () => {
    await within(30_000, 'disposing the service', service.dispose());
    rmSync(dir, { recursive: true, force: true });
  });

  test(
    'a named pipe and a link to /dev/zero fail with FILE_UNREADABLE and the next song is separated',
    { timeout: 120_000 },
    async () => {
      const fifo = join(dir, 'pipe.wav');
      execFileSync('mkfifo', [fifo]);
      const zeros = join(dir, 'zeros.wav');
      symlinkSync('/dev/zero', zeros);
      const song = ffmpegFixture(join(dir, 'song.wav'), {
        seconds: 1,
        codecArgs: ['-c:a', 'pcm_s16le'],
        container: 'wav',
      });
      await service.open([fifo, zeros, song]);
      await within(90_000, 'the queue', service.idle());
      const jobs = await service.listJobs();
      const byInput = new Map(jobs.map((j) => [j.input, j]));
      for (const path of [fifo, zeros]) {
        const job = byInput.get(path)!;
        assert.equal(job.state, 'failed', `${path}: ${job.state}`);
        assert.equal(job.error?.code, 'FILE_UNREADABLE', job.error?.message);
        assert.match(job.error!.message, /not a regular file/);
        assert.ok(job.error!.message.startsWith(`${path}: `), job.error!.message);
      }
      assert.equal(byInput.get(song)!.state, 'done', JSON.stringify(byInput.get(song)!.error));
    },
  );
});
