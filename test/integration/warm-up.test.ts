// The app's warm-up (JobRunner.warmUp with the estimate cache on): it separates generated noise once, as a song is
// separated, into a temporary folder it removes, keeps nothing of it (neither in the user's estimate cache nor as the
// song kept for re-renders), and a job that comes meanwhile stops it and runs as usual. And after a song is separated
// with a listening copy (someone is about to listen), the engine readies it for the parts a change asks for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { createStemWriter, type StemWriterFactory } from '../../src-main/engine/audio/stem-writer.ts';
import { decodeStream } from '../../src-main/engine/audio/decode.ts';
import { JobRunner } from '../../src-main/engine/runner.ts';
import { LastSongMemo } from '../../src-main/engine/separate/song-memo.ts';
import type { PreparedSong } from '../../src-main/engine/separate/pipeline.ts';
import { WARM_SECONDS } from '../../src-main/engine/warm-run.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';
const SEGMENTS = { segmentFrames: 32, overlapFrames: 4, batch: 2 };

/** What the runner's stem writers were asked to write, per file: frames written and whether it was closed. */
interface Written {
  path: string;
  frames: number;
  closed: boolean;
}

/** createStemWriter that records each file's frames; `gate` (when set) holds every write in a warm-up folder. */
function recordingWriters(gate: { wait: Promise<void> | null }): { factory: StemWriterFactory; written: Written[] } {
  const written: Written[] = [];
  const factory: StemWriterFactory = async (path, opts) => {
    const inner = await createStemWriter(path, opts);
    const w: Written = { path: opts.shownAs ?? path, frames: 0, closed: false };
    written.push(w);
    return {
      notices: inner.notices,
      async write(planar) {
        if (gate.wait && w.path.includes('xumx-warm-up-')) await gate.wait;
        w.frames += planar[0].length;
        await inner.write(planar);
      },
      async close() {
        await inner.close();
        w.closed = true;
      },
      abort: () => inner.abort(),
    };
  };
  return { factory, written };
}

const warmFolders = () => readdirSync(tmpdir()).filter((n) => n.startsWith('xumx-warm-up-'));

describe('the warm-up separation', { skip }, () => {
  let modelDirs: string[];
  let song: string;
  const runners: JobRunner[] = [];
  before(async () => {
    modelDirs = [testModel().root];
    song = join(tempDir('xumx-warm-song-'), 'song.wav');
    await makeSong(song, { seconds: 8, sampleRate: 44100, channels: 2, seed: 3 });
  });
  after(async () => {
    for (const r of runners) await r.dispose();
  });

  const runner = (cacheDir: string, factory: StemWriterFactory) => {
    const r = new JobRunner(
      { modelDirs, allowTestModels: true, threads: 1, segments: SEGMENTS, cache: { dir: cacheDir } },
      { decode: decodeStream, createStemWriter: factory },
    );
    runners.push(r);
    return r;
  };

  test('separates generated noise into every stem once, in a temporary folder it removes, and keeps none of it', async () => {
    const before = warmFolders();
    const cache = tempDir('xumx-warm-user-cache-');
    const { factory, written } = recordingWriters({ wait: null });
    await runner(cache, factory).warmUp({ modelId: 'tiny-test', ep: 'cpu' });

    assert.equal(written.length, 4, written.map((w) => w.path).join(', '));
    const folders = new Set(written.map((w) => w.path.split('/').find((p) => p.startsWith('xumx-warm-up-'))));
    assert.equal(folders.size, 1, 'one temporary folder');
    for (const w of written) {
      assert.equal(w.frames, WARM_SECONDS * 44100, `${w.path}: the whole noise`);
      assert.ok(w.closed, `${w.path}: finished`);
      assert.ok(!existsSync(w.path), `${w.path} removed`);
      assert.ok(!existsSync(dirname(dirname(w.path))), 'its folder removed');
    }
    assert.deepEqual(warmFolders(), before);
    assert.deepEqual(readdirSync(cache), [], "nothing in the user's estimate cache");
  });

  test('a job asked while it separates stops it; the job runs as usual and the warm-up leaves nothing', async () => {
    const before = warmFolders();
    const cache = tempDir('xumx-warm-user-cache-');
    let release!: () => void;
    const gate = { wait: new Promise<void>((r) => (release = r)) as Promise<void> | null };
    const { factory, written } = recordingWriters(gate);
    const r = runner(cache, factory);
    const warming = r.warmUp({ modelId: 'tiny-test', ep: 'cpu' });
    // Until the warm-up's first stem write, held at the gate: it is separating now.
    const deadline = Date.now() + 120_000;
    while (!written.some((w) => w.path.includes('xumx-warm-up-'))) {
      if (Date.now() > deadline) assert.fail('the warm-up wrote no stem in 2 minutes');
      await new Promise((s) => setTimeout(s, 10));
    }
    const job = r.run({ input: song, outDir: tempDir('xumx-warm-job-out-'), format: 'wav', bitDepth: 24 });
    release();
    gate.wait = null;
    const result = await job;
    await warming;

    assert.ok(result.ok, result.ok ? '' : result.error.message);
    const warm = written.filter((w) => w.path.includes('xumx-warm-up-'));
    assert.ok(
      warm.every((w) => !w.closed && w.frames < WARM_SECONDS * 44100),
      'the warm-up stopped before its end',
    );
    const jobs = written.filter((w) => !w.path.includes('xumx-warm-up-'));
    assert.equal(jobs.length, 4);
    for (const w of jobs) assert.ok(w.closed && w.frames === 8 * 44100, `${w.path}: ${w.frames} frames`);
    assert.deepEqual(warmFolders(), before);
    assert.ok(readdirSync(cache).length > 0, "the job's estimates are cached");
  });

  test('after a job, a warm-up separates nothing', async () => {
    const { factory, written } = recordingWriters({ wait: null });
    const r = runner(tempDir('xumx-warm-user-cache-'), factory);
    const result = await r.run({ input: song, outDir: tempDir('xumx-warm-job-out-'), format: 'wav', bitDepth: 24 });
    assert.ok(result.ok);
    await r.warmUp({ modelId: 'tiny-test', ep: 'cpu' });
    assert.equal(written.filter((w) => w.path.includes('xumx-warm-up-')).length, 0);
  });
});

describe('a song just separated for listening', { skip }, () => {
  let modelDirs: string[];
  let song: string;
  before(async () => {
    modelDirs = [testModel().root];
    song = join(tempDir('xumx-ready-song-'), 'song.wav');
    await makeSong(song, { seconds: 8, sampleRate: 44100, channels: 2, seed: 4 });
  });

  /** A runner with its own estimate cache, on `deps` (and prepared songs in `songFolder` when given). */
  const readyRunner = (deps: ConstructorParameters<typeof JobRunner>[1], songFolder?: string) =>
    new JobRunner(
      {
        modelDirs,
        allowTestModels: true,
        threads: 1,
        segments: SEGMENTS,
        cache: { dir: tempDir('xumx-ready-cache-') },
        ...(songFolder ? { songFolder } : {}),
      },
      deps,
    );

  /** A runner whose prepared songs are asked for through a memo that counts the asks. */
  const counted = () => {
    const memo = new LastSongMemo();
    const asked = { count: 0 };
    const songs = {
      get: (key: string): PreparedSong | undefined => {
        asked.count++;
        return memo.get(key);
      },
      set: (key: string, prepared: PreparedSong) => memo.set(key, prepared),
    };
    const runner = readyRunner({ decode: decodeStream, createStemWriter, songs });
    return { runner, asked, memo };
  };
  const request = () => ({
    input: song,
    outDir: tempDir('xumx-ready-out-'),
    format: 'wav' as const,
    bitDepth: 24 as const,
  });

  test('is readied for parts without being asked (its prepared song taken up again), and a part then renders', async () => {
    const { runner, asked, memo } = counted();
    try {
      const copy = join(tempDir('xumx-ready-copy-'), 'copy.f32');
      const result = await runner.run(request(), { listen: { path: copy, onReady: () => {} } });
      assert.ok(result.ok, result.ok ? '' : result.error.message);
      const afterJob = asked.count;
      const deadline = Date.now() + 60_000;
      while (asked.count === afterJob) {
        if (Date.now() > deadline) assert.fail('the song was not taken up again for parts within 60 s');
        await new Promise((s) => setTimeout(s, 10));
      }
      const part = await runner.renderRegion(request(), { start: 44100, frames: 4410 });
      assert.ok(part.ok, part.ok ? '' : part.error.message);
      for (const [name, planar] of Object.entries(part.stems)) assert.equal(planar[0].length, 4410, name);
    } finally {
      await runner.dispose();
      memo.clear();
    }
  });

  test('let go of right after its job (the app removed it meanwhile): it is not decoded again, nothing stays', async () => {
    const songFolder = tempDir('xumx-ready-songs-');
    let decodes = 0;
    const runner = readyRunner(
      { decode: (path: string) => (decodes++, decodeStream(path)), createStemWriter },
      songFolder,
    );
    try {
      const copy = join(tempDir('xumx-ready-copy-'), 'copy.f32');
      const result = await runner.run(request(), { listen: { path: copy, onReady: () => {} } });
      assert.ok(result.ok);
      // What the engine's worker does for a song removed while it separated: the release follows the result.
      await runner.releaseSong(song);
      await new Promise((s) => setTimeout(s, 500));
      assert.equal(decodes, 1, 'the song let go of was decoded again');
      assert.deepEqual(readdirSync(songFolder), [], 'no prepared song left on disk');
    } finally {
      await runner.dispose();
    }
  });

  test('is not readied when nobody listens (no listening copy), and a job right after a readied one runs', async () => {
    const { runner, asked, memo } = counted();
    try {
      const plain = await runner.run(request());
      assert.ok(plain.ok);
      const afterJob = asked.count;
      await new Promise((s) => setTimeout(s, 1000));
      assert.equal(asked.count, afterJob, 'nothing asked for after a job without a listening copy');
      const copy = join(tempDir('xumx-ready-copy-'), 'copy.f32');
      const listened = await runner.run(request(), { listen: { path: copy, onReady: () => {} } });
      assert.ok(listened.ok);
      const next = await runner.run(request());
      assert.ok(next.ok, next.ok ? '' : next.error.message);
    } finally {
      await runner.dispose();
      memo.clear();
    }
  });
});
