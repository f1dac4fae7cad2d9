// The engine's public API from a caller's thread (as the Electron main process uses it), and cancellation
// through both doors: an AbortSignal on the API, Ctrl-C on the CLI. A cancelled job leaves nothing behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createEngine, type Engine, type Progress } from '../../src-main/engine/index.ts';
import { ffmpegFixture, hasFfmpeg } from '../fixtures/audio.ts';
import { filesUnder, runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;
const segments = { segmentFrames: 32, overlapFrames: 4, batch: 2 };

describe('engine API and cancellation', { skip }, () => {
  let engine: Engine;
  let song: string;
  let models: string;
  before(() => {
    models = testModel().root;
    engine = createEngine({ modelDirs: [models], allowTestModels: true, segments });
    song = ffmpegFixture(join(tempDir('song'), 'twenty.wav'), {
      seconds: 20,
      codecArgs: ['-c:a', 'pcm_s16le'],
      container: 'wav',
    });
  });
  after(() => engine.dispose());

  test('lists test models only when allowed', async () => {
    assert.deepEqual(
      (await engine.listModels()).map((m) => m.id),
      ['tiny-test'],
    );
    const userFacing = createEngine({ modelDirs: [models] });
    assert.deepEqual(await userFacing.listModels(), []);
    await userFacing.dispose();
  });

  test("runs a job off the caller's thread, with progress from load to write and an ETA", async () => {
    const events: Progress[] = [];
    let ticks = 0;
    const timer = setInterval(() => {
      ticks++;
    }, 20);
    const out = tempDir('api-out');
    const r = await engine.separate({ input: song, outDir: out, ep: 'cpu' }, { onProgress: (p) => events.push(p) });
    clearInterval(timer);
    assert.ok(r.ok, JSON.stringify(r));
    // A job that blocked this thread would let the timer fire once at most.
    assert.ok(ticks >= 10, `the caller's thread ran only ${ticks} timer ticks during the job`);
    const stages = new Set(events.map((e) => e.stage));
    for (const s of ['load-model', 'decode', 'network', 'wiener', 'encode', 'write'])
      assert.ok(stages.has(s as Progress['stage']), s);
    for (let i = 1; i < events.length; i++) assert.ok(events[i].fraction >= events[i - 1].fraction);
    assert.equal(events.at(-1)!.fraction, 1);
    assert.ok(events.some((e) => e.etaSeconds !== null && e.etaSeconds > 0));
  });

  test('readies its worker and DSP threads before the first song when warmed up, then separates', async () => {
    const app = createEngine({
      modelDirs: [models],
      allowTestModels: true,
      segments,
      cache: { dir: tempDir('warm-cache') },
    });
    try {
      await app.warmUp();
      const r = await app.separate({ input: song, outDir: tempDir('warm-out'), ep: 'cpu' });
      assert.ok(r.ok, r.ok ? '' : r.error.message);
    } finally {
      await app.dispose();
    }
  });

  test('a song separated after a warm-up with its model goes from its samples to the network without waiting for the model', async () => {
    const app = createEngine({
      modelDirs: [models],
      allowTestModels: true,
      segments,
      cache: { dir: tempDir('warm-cache') },
    });
    try {
      await app.warmUp({ ep: 'cpu' });
      const stages: string[] = [];
      const r = await app.separate(
        { input: song, outDir: tempDir('warm-out'), ep: 'cpu' },
        { onProgress: (p) => void (stages.at(-1) !== p.stage && stages.push(p.stage)) },
      );
      assert.ok(r.ok, r.ok ? '' : r.error.message);
      const fromSamples = stages.slice(stages.indexOf('stft'));
      assert.deepEqual(fromSamples.slice(0, 2), ['stft', 'network'], stages.join(' → '));
    } finally {
      await app.dispose();
    }
  });

  test('an engine disposed while it warms up stops, and its warm-up settles', async () => {
    const app = createEngine({ modelDirs: [models], allowTestModels: true, cache: { dir: tempDir('warm-cache') } });
    const warm = app.warmUp();
    await app.dispose();
    await warm;
  });

  test('a per-file problem is a value, never a throw', async () => {
    const r = await engine.separate({ input: join(tempDir('none'), 'missing.wav'), outDir: tempDir('o') });
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'FILE_NOT_FOUND');
    const bad = await engine.separate({ input: song, outDir: tempDir('o'), format: 'aiff' as 'wav' });
    assert.equal(!bad.ok && bad.error.code, 'BAD_ARGUMENT');
  });

  test('aborting mid-job returns CANCELLED and removes every partial stem and the stem folder', async () => {
    const out = tempDir('abort-out');
    const controller = new AbortController();
    const r = await engine.separate(
      { input: song, outDir: out },
      {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.fraction > 0.3) controller.abort();
        },
      },
    );
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.error.code, 'CANCELLED');
    assert.deepEqual(filesUnder(out), []);
  });

  test('a job aborted before it starts does nothing', async () => {
    const out = tempDir('abort-early');
    const r = await engine.separate({ input: song, outDir: out }, { signal: AbortSignal.abort() });
    assert.equal(!r.ok && r.error.code, 'CANCELLED');
    assert.deepEqual(filesUnder(out), []);
  });

  test('Ctrl-C on the CLI cancels the job and leaves nothing', async () => {
    const out = tempDir('sigint-out');
    let sent = false;
    const r = await runCli(['separate', song, '--out', out, '--models-dir', models], {
      env: { XUMX_STUDIO_SEGMENTS: '32,4,2' },
      onStderr: (text, child) => {
        if (!sent && /: ([3-9]0)% \(/.test(text)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, `never saw progress past 30%: ${r.stderr}`);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /CANCELLED/);
    assert.deepEqual(filesUnder(out), []);
  });

  test('what a stem-file run killed with SIGKILL leaves is gone after the next run into that folder', async () => {
    const out = tempDir('sigkill-out');
    const short = ffmpegFixture(join(tempDir('song'), 'short.wav'), {
      seconds: 3,
      codecArgs: ['-c:a', 'pcm_s16le'],
      container: 'wav',
    });
    let sent = false;
    const r = await runCli(['separate', short, '--out', out, '--models-dir', models, '--format', 'stem'], {
      env: { XUMX_STUDIO_SEGMENTS: '32,4,1' },
      onStderr: (text, child) => {
        if (!sent && /: [1-9]0% \((network|wiener|encode)/.test(text)) {
          sent = true;
          child.kill('SIGKILL');
        }
      },
    });
    assert.ok(sent, `never saw the network stage: ${r.stderr}`);
    assert.equal(r.signal, 'SIGKILL');
    assert.notDeepEqual(filesUnder(out), [], 'the killed run left nothing: the test would prove nothing');
    const again = await runCli(['separate', short, '--out', out, '--models-dir', models, '--format', 'stem']);
    assert.equal(again.code, 0, again.stderr);
    // The stem file and the hidden mark naming the song it was made from (so a re-run replaces only its own).
    assert.deepEqual(filesUnder(out), ['.short.stem.mp4.xumx-song', 'short.stem.mp4']);
  });
});
