// A ten-minute song through the CLI: chunked processing keeps memory bounded (the bound: 1.2 GB peak RSS
// for a 10-minute song) and every stem comes out exactly as long as the input.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { ffmpegFixture, hasFfmpeg } from '../fixtures/audio.ts';
import { BIN, isolatedEnv, tempDir } from './helpers/cli.ts';
import { ROOT, canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;
const TIME = '/usr/bin/time';
// Shorter only where long-file-cleanup.test.ts checks what the test leaves behind.
const SECONDS = Number(process.env.XUMX_LONG_FILE_SECONDS) || 600;

describe('a ten-minute song', { skip }, () => {
  // The song (100 MB) and its stems (400 MB) go, whatever the test's outcome.
  const made: string[] = [];
  after(() => {
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });
  const dir = (prefix: string) => {
    made.push(tempDir(prefix));
    return made.at(-1)!;
  };

  test('separates with bounded memory into stems of exactly the input length', { timeout: 20 * 60_000 }, async () => {
    const models = testModel().root;
    const song = ffmpegFixture(join(dir('long'), 'ten-minutes.wav'), {
      seconds: SECONDS,
      codecArgs: ['-c:a', 'pcm_s16le'],
      container: 'wav',
    });
    const out = dir('long-out');
    // GNU time reports the child's peak RSS (worker thread included: same process).
    const measure = existsSync(TIME);
    const args = [BIN, 'separate', song, '--out', out, '--models-dir', models, '--ep', 'cpu', '--json'];
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = measure
          ? spawn(TIME, ['-f', 'peak-rss-kb=%M', process.execPath, ...args], { cwd: ROOT, env: isolatedEnv() })
          : spawn(process.execPath, args, { cwd: ROOT, env: isolatedEnv() });
        let o = '',
          e = '';
        child.stdout.on('data', (d) => {
          o += d;
        });
        child.stderr.on('data', (d) => {
          e += d;
        });
        child.on('error', reject);
        child.on('close', (c) => resolve({ code: c, stdout: o, stderr: e }));
      },
    );
    assert.equal(code, 0, stderr);
    const r = JSON.parse(stdout).files[0];
    assert.equal(r.duration, SECONDS);
    const first = await decodeFile(r.stems.vocals);
    assert.equal(first.channels[0].length, SECONDS * 44100);
    assert.equal(first.sampleRate, 44100);
    const size = statSync(r.stems.vocals).size;
    for (const s of ['bass', 'drums', 'other'])
      assert.equal(statSync(r.stems[s]).size, size, `${s} differs in length from vocals`);
    if (measure) {
      const kb = Number(/peak-rss-kb=(\d+)/.exec(stderr)?.[1]);
      assert.ok(kb > 0, stderr);
      assert.ok(kb / 1024 < 1200, `peak RSS ${(kb / 1024).toFixed(0)} MB for a ${SECONDS / 60}-minute song`);
    }
  });
});
