// The ten-minute song test (long-file.test.ts) writes a 100 MB input and 400 MB of stems: run on a short song with a
// temporary folder of its own, it must leave nothing of its own there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasFfmpeg } from '../fixtures/audio.ts';
import { filesUnder } from './helpers/cli.ts';
import { ROOT, canBuildModels } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;

describe('the ten-minute song test', { skip }, () => {
  test('leaves no file in the temporary folder', { timeout: 10 * 60_000 }, () => {
    const tmp = mkdtempSync(join(tmpdir(), 'xumx-long-cleanup-'));
    try {
      const args = ['--import', 'tsx', '--test', '--test-reporter=tap', 'test/integration/long-file.test.ts'];
      const run = spawnSync(process.execPath, args, {
        cwd: ROOT,
        // Without NODE_TEST_CONTEXT, which would make it report to this runner instead of printing its results.
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, TMPDIR: tmp, XUMX_LONG_FILE_SECONDS: '5' },
        encoding: 'utf8',
      });
      assert.equal(run.status, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^# pass 1$/m, 'the test ran, not skipped');
      // Only what the test itself makes (tempDir('long…')): the tools it runs keep caches there too.
      assert.deepEqual(
        filesUnder(tmp).filter((f) => f.startsWith('xumx-long')),
        [],
      );
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
