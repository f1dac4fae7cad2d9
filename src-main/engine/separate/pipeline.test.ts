import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { decodeFile } from '../audio/decode.ts';
import { createStemWriter } from '../audio/stem-writer.ts';
import { XumxError } from '../errors.ts';
import { resample } from '../dsp/resample.ts';
import { CONTRACT } from '../model/manifest.ts';
import {
  separateFile,
  separateOpening,
  type PipelineDeps,
  type PipelineJob,
  type PreparedSong,
  type SongMemo,
} from './pipeline.ts';
import { minChunkLength, planChunks } from './segments.ts';
import type { SongSamples } from './song-samples.ts';
import { LastSongMemo } from './song-memo.ts';
import { SONG_MARK } from './stem-folder.ts';
import type { StemWriterFactory } from '../audio/stem-writer.ts';
import { STAGES, type ListenProgress, type Stage } from '../types.ts';
import { fakeModel, floatWav, testSignal } from './testing/fakes.ts';
import { onSmallDisk } from '../../../test/fixtures/small-disk.ts';

/** Stem writers that keep the samples in memory (by source name) and leave an empty file to rename. */
interface MemoryWriters {
  factory: StemWriterFactory;
  stems: Map<string, Float32Array[]>;
  /** The source whose writes fail with DISK_FULL. */
  failOn?: string;
}

function memoryWriters(): MemoryWriters {
  const stems = new Map<string, Float32Array[]>();
  const state: MemoryWriters = {
    stems,
    factory: async (path) => {
      const source = basename(path).split('.')[1];
      const parts: Float32Array[][] = [];
      return {
        async write(planar: Float32Array[]) {
          if (state.failOn === source) throw new XumxError('DISK_FULL', `${path}: the disk is full`, path);
          parts.push(planar.map((c) => c.slice()));
        },
        async close() {
          const len = parts.reduce((n, p) => n + p[0].length, 0);
          const joined = [new Float32Array(len), new Float32Array(len)];
          let at = 0;
          for (const p of parts) {
            joined[0].set(p[0], at);
            joined[1].set(p[1], at);
            at += p[0].length;
          }
          stems.set(source, joined);
          writeFileSync(path, '');
        },
        async abort() {},
        notices: [],
      };
    },
  };
  return state;
}

function job(outDir: string, over: Partial<PipelineJob> = {}): PipelineJob {
  return {
    input: '/music/song.wav',
    outDir,
    format: 'wav',
    bitDepth: '32f',
    controls: { wienerIterations: 0, softmask: false, residual: false },
    segments: { segmentFrames: 32, overlapFrames: 4, batch: 3 },
    ...over,
  };
}

function deps(signal: Float32Array[], sampleRate: number, writers: ReturnType<typeof memoryWriters>): PipelineDeps {
  return {
    decode: async () => ({ sampleRate, channels: signal.map((c) => c.slice()), notices: [] }),
    createStemWriter: writers.factory,
  };
}

function errorDb(ref: Float32Array[], got: Float32Array[]): number {
  let e = 0,
    p = 0;
  for (let c = 0; c < ref.length; c++)
    for (let i = 0; i < ref[c].length; i++) {
      e += (ref[c][i] - got[c][i]) ** 2;
      p += ref[c][i] ** 2;
    }
  return 10 * Math.log10(e / p);
}

const tmp = () => mkdtempSync(join(tmpdir(), 'xumx-pipeline-'));
/** `p`, or false after `ms` (the timer cleared once `p` settles, so a passing test does not wait for it). */
async function within<T>(p: Promise<T>, ms: number): Promise<T | false> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('separateFile', () => {
  test('reaches every progress stage the app can show: none is declared that a separation never reports', async () => {
    const model = fakeModel(['a', 'b'], () => 0.5);
    const { segments, ...rest } = job(tmp());
    const seen = new Set<Stage>();
    let open = () => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    // The session opens once the job has said it waits for it; the song is at 48 kHz, so it is resampled.
    await separateOpening(
      rest,
      { manifest: model.manifest, ready: opened.then(() => ({ model, segments })) },
      deps(testSignal(48000), 48000, memoryWriters()),
      {
        onProgress: (p) => {
          seen.add(p.stage);
          if (p.stage === 'load-model') open();
        },
      },
    );
    assert.deepEqual(
      STAGES.filter((s) => !seen.has(s)),
      [],
    );
  });

  test('with a song memo, a second job on an unchanged file skips decoding and gives the same stems; a changed file is decoded again', async () => {
    const dir = tmp();
    const input = join(dir, 'song.wav');
    writeFileSync(input, 'first version');
    const signal = testSignal(48000 * 2, 3);
    let decodes = 0;
    const run = async () => {
      const writers = memoryWriters();
      await separateFile(
        job(tmp(), { input, controls: { wienerIterations: 1, softmask: false, residual: false } }),
        fakeModel(['a', 'b'], (j) => (j === 0 ? 0.7 : 0.3)),
        {
          decode: async () => {
            decodes++;
            return { sampleRate: 48000, channels: signal.map((c) => c.slice()), notices: [] };
          },
          createStemWriter: writers.factory,
          songs: memo,
        },
      );
      return writers.stems;
    };
    const inner = new LastSongMemo();
    let stored: PreparedSong | undefined;
    const memo: SongMemo = {
      get: (k) => inner.get(k),
      set: (k, song) => {
        stored = song;
        inner.set(k, song);
      },
    };
    const first = await run();
    const whole = () => stored!.song.read(0, stored!.song.frames);
    const kept = await whole();
    const second = await run();
    assert.equal(decodes, 1);
    for (const name of ['a', 'b'])
      for (let c = 0; c < 2; c++) assert.deepEqual(second.get(name)![c], first.get(name)![c]);
    assert.deepEqual(await whole(), kept, 'the kept song was not changed by the jobs');
    writeFileSync(input, 'second, longer version');
    await run();
    assert.equal(decodes, 2);
  });

  test('reads the prepared song a chunk at a time, never the whole song', async () => {
    const dir = tmp();
    const input = join(dir, 'song.wav');
    writeFileSync(input, 'a song');
    const signal = testSignal(44100 * 6 + 99, 4);
    let largest = 0;
    let reads = 0;
    const samples: SongSamples = {
      frames: signal[0].length,
      async read(start, length) {
        reads++;
        largest = Math.max(largest, length);
        return signal.map((c) => {
          const x = new Float32Array(length);
          x.set(c.subarray(start, start + length));
          return x;
        });
      },
      retain() {},
      async release() {},
    };
    const song: PreparedSong = {
      song: samples,
      sampleRate: 44100,
      inputLength: signal[0].length,
      notices: [],
      tags: {},
    };
    const memo: SongMemo = { get: () => song, set: () => {} };
    const writers = memoryWriters();
    const segments = { segmentFrames: 32, overlapFrames: 4, batch: 3 };
    // The song's analysis reads it in stretches of its own; known already, it stays out of the count.
    await separateFile(
      job(tmp(), { input, segments, analysis: null }),
      fakeModel(['all'], () => 1),
      { decode: async () => assert.fail('the memo holds the song'), createStemWriter: writers.factory, songs: memo },
    );
    const plan = planChunks(signal[0].length, segments, CONTRACT.hop, minChunkLength(CONTRACT.nFft));
    assert.ok(plan.chunks.length > 3, 'the song must be several batches long for the test to mean anything');
    assert.ok(reads >= plan.chunks.length, `${reads} reads for ${plan.chunks.length} chunks`);
    assert.ok(largest <= plan.chunkLength, `read ${largest} frames at once; a chunk is ${plan.chunkLength}`);
    assert.ok(errorDb(signal, writers.stems.get('all')!) < -100);
  });

  test('prepares a song decoded in pieces to the same samples as the whole song resampled at once', async () => {
    const dir = tmp();
    const input = join(dir, 'song.flac');
    writeFileSync(input, 'a song');
    const signal = testSignal(48000 * 5 + 7, 5);
    async function* pieces() {
      for (let at = 0; at < signal[0].length; at += 10007) yield signal.map((c) => c.slice(at, at + 10007));
    }
    let stored: PreparedSong | undefined;
    const inner = new LastSongMemo();
    const memo: SongMemo = {
      get: (k) => inner.get(k),
      set: (k, s) => {
        stored = s;
        inner.set(k, s);
      },
    };
    await separateFile(
      job(tmp(), { input }),
      fakeModel(['all'], () => 1),
      {
        decode: async () => ({ sampleRate: 48000, pieces: pieces(), notices: [] }),
        createStemWriter: memoryWriters().factory,
        songs: memo,
        songFolder: tmp(),
      },
    );
    const expected = await resample(signal, 48000, CONTRACT.sampleRate);
    assert.equal(stored!.song.frames, expected[0].length);
    assert.equal(stored!.inputLength, signal[0].length);
    assert.deepEqual(await stored!.song.read(0, stored!.song.frames), expected);
    inner.clear();
  });

  test('keeps the prepared song in a file that is removed when the job ends, and by the memo when it lets the song go', async () => {
    const songs = tmp();
    const input = join(tmp(), 'song.wav');
    writeFileSync(input, 'a song');
    const decode = async () => ({ sampleRate: 44100, channels: testSignal(44100 * 2), notices: [] });
    let seenDuringJob: string[] = [];
    const model = fakeModel(
      ['all'],
      () => 1,
      () => {
        seenDuringJob = readdirSync(songs);
      },
    );
    await separateFile(job(tmp(), { input }), model, {
      decode,
      createStemWriter: memoryWriters().factory,
      songFolder: songs,
    });
    assert.equal(seenDuringJob.length, 1, 'the prepared song is on disk while the job runs');
    assert.deepEqual(readdirSync(songs), [], 'without a memo the job removes it');

    const memo = new LastSongMemo();
    await separateFile(job(tmp(), { input }), model, {
      decode,
      createStemWriter: memoryWriters().factory,
      songFolder: songs,
      songs: memo,
    });
    assert.equal(readdirSync(songs).length, 1, 'the memo keeps it');
    memo.get('another song');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(readdirSync(songs), [], 'the memo let it go');
  });

  test('a job cancelled while its song is decoded leaves no prepared samples behind', async () => {
    const songs = tmp();
    const controller = new AbortController();
    async function* pieces() {
      yield testSignal(44100);
      controller.abort();
      yield testSignal(44100);
      yield testSignal(44100);
    }
    await assert.rejects(
      separateFile(
        job(tmp()),
        fakeModel(['all'], () => 1),
        {
          decode: async () => ({ sampleRate: 44100, pieces: pieces(), notices: [] }),
          createStemWriter: memoryWriters().factory,
          songFolder: songs,
        },
        { signal: controller.signal },
      ),
      (e: XumxError) => e.code === 'CANCELLED',
    );
    assert.deepEqual(readdirSync(songs), []);
  });

  test('a decoder failing half-way leaves no prepared samples behind and names its error', async () => {
    const songs = tmp();
    async function* pieces(): AsyncGenerator<Float32Array[]> {
      yield testSignal(44100);
      throw new XumxError('TRUNCATED', '/music/song.wav: the file ends early', '/music/song.wav');
    }
    await assert.rejects(
      separateFile(
        job(tmp()),
        fakeModel(['all'], () => 1),
        {
          decode: async () => ({ sampleRate: 44100, pieces: pieces(), notices: [] }),
          createStemWriter: memoryWriters().factory,
          songFolder: songs,
        },
      ),
      (e: XumxError) => e.code === 'TRUNCATED',
    );
    assert.deepEqual(readdirSync(songs), []);
  });

  for (const rate of [44100, 48000])
    test(`a song whose length its header promises is read while it is decoded (${rate} Hz): the network runs before the last piece`, async () => {
      const songs = tmp();
      const piece = testSignal(rate, 1, 0);
      let ran!: () => void;
      const networkRan = new Promise<void>((r) => (ran = r));
      let lastPieceAfterNetwork = false;
      async function* pieces() {
        yield piece.map((c) => c.slice());
        yield piece.map((c) => c.slice());
        // The rest only once the network has run on the first chunk (it needs 0.7 s of the song).
        lastPieceAfterNetwork =
          (await within(
            networkRan.then(() => true),
            20_000,
          )) === true;
        yield piece.map((c) => c.slice());
      }
      const writers = memoryWriters();
      const decodedWhole = memoryWriters();
      const opts = { segments: { segmentFrames: 32, overlapFrames: 4, batch: 3, firstBatch: 1 } };
      const r = await separateFile(
        job(tmp(), opts),
        fakeModel(['all'], () => 1, ran),
        {
          decode: async () => ({ sampleRate: rate, pieces: pieces(), frames: 3 * rate, notices: ['a decoder notice'] }),
          createStemWriter: writers.factory,
          songFolder: songs,
        },
      );
      assert.ok(lastPieceAfterNetwork, 'the first chunk went to the network before the decoder gave its last piece');
      assert.deepEqual(r.notices.slice(0, 1), ['a decoder notice'], "the decoder's notices come with the result");
      assert.deepEqual(readdirSync(songs), [], 'the prepared song removed at the end');
      // The same stems as from the song decoded whole.
      const whole = piece.map((c) => new Float32Array(3 * rate).map((_, i) => c[i % rate]));
      await separateFile(
        job(tmp(), opts),
        fakeModel(['all'], () => 1),
        {
          ...deps(whole, rate, decodedWhole),
          songFolder: tmp(),
        },
      );
      assert.equal(writers.stems.get('all')![0].length, 3 * rate);
      assert.deepEqual(writers.stems.get('all'), decodedWhole.stems.get('all'));
    });

  test('while a listener waits for the first sound, the decoder stays near the chunks; it goes on once frames are final', async () => {
    const rate = 44100;
    const piece = testSignal(rate, 2, 0);
    let pulled = 0;
    let pulledAtFirstSound = -1;
    async function* pieces() {
      for (let k = 0; k < 12; k++) {
        pulled++;
        yield piece.map((c) => c.slice());
      }
    }
    const writers = memoryWriters();
    const r = await separateFile(
      job(tmp(), { segments: { segmentFrames: 32, overlapFrames: 4, batch: 2, firstBatch: 1 } }),
      fakeModel(['all'], () => 1),
      {
        decode: async () => ({ sampleRate: rate, pieces: pieces(), frames: 12 * rate, notices: [] }),
        createStemWriter: writers.factory,
        songFolder: tmp(),
      },
      {
        listen: {
          path: join(tmp(), 'copy.f32'),
          onReady: (l) => {
            if (l.readyFrames > 0 && pulledAtFirstSound < 0) pulledAtFirstSound = pulled;
          },
        },
      },
    );
    // Chunks of 32 frames (0.74 s): the first and the next batch lie in the first two 1-second pieces.
    assert.ok(
      pulledAtFirstSound > 0 && pulledAtFirstSound <= 4,
      `${pulledAtFirstSound} of 12 pieces decoded at the first sound`,
    );
    assert.equal(pulled, 12);
    assert.equal(writers.stems.get('all')![0].length, 12 * rate);
    assert.deepEqual(r.notices, []);
  });

  test('a decoder failing after the chunk loop began: the job fails with its error and leaves no stems, no samples', async () => {
    const songs = tmp();
    const out = tmp();
    let ran!: () => void;
    const networkRan = new Promise<void>((r) => (ran = r));
    let failedAfterNetwork = false;
    async function* pieces(): AsyncGenerator<Float32Array[]> {
      yield testSignal(44100);
      failedAfterNetwork =
        (await within(
          networkRan.then(() => true),
          20_000,
        )) === true;
      throw new XumxError('TRUNCATED', '/music/song.wav: the file ends early', '/music/song.wav');
    }
    const segments = { segmentFrames: 32, overlapFrames: 4, batch: 3, firstBatch: 1 };
    await assert.rejects(
      separateFile(
        job(out, { segments }),
        fakeModel(['all'], () => 1, ran),
        {
          decode: async () => ({ sampleRate: 44100, pieces: pieces(), frames: 3 * 44100, notices: [] }),
          createStemWriter: createStemWriter,
          songFolder: songs,
        },
      ),
      (e: XumxError) => e.code === 'TRUNCATED' && /ends early/.test(e.message),
    );
    assert.ok(failedAfterNetwork, 'the decoder failed after the first chunk had gone to the network');
    assert.deepEqual(readdirSync(songs), []);
    assert.deepEqual(readdirSync(out), [], 'no stem and no stem folder');
  });

  test('a header promising more frames than the decoder gives fails the job, and leaves nothing', async () => {
    const songs = tmp();
    const out = tmp();
    async function* pieces(): AsyncGenerator<Float32Array[]> {
      yield testSignal(44100);
    }
    await assert.rejects(
      separateFile(
        job(out),
        fakeModel(['all'], () => 1),
        {
          decode: async () => ({ sampleRate: 44100, pieces: pieces(), frames: 2 * 44100, notices: [] }),
          createStemWriter: createStemWriter,
          songFolder: songs,
        },
      ),
      (e: XumxError) => /44100 frames, its input's header promised 88200/.test(e.message),
    );
    assert.deepEqual(readdirSync(songs), []);
    assert.deepEqual(readdirSync(out), []);
  });

  test('an identity network gives the input back through chunks, crossfades and the STFT round trip', async () => {
    const input = testSignal(44100 * 3 + 123);
    const writers = memoryWriters();
    const out = tmp();
    const r = await separateFile(
      job(out),
      fakeModel(['all'], () => 1),
      deps(input, 44100, writers),
    );
    const stem = writers.stems.get('all')!;
    assert.equal(stem[0].length, input[0].length);
    assert.ok(errorDb(input, stem) < -100, `error ${errorDb(input, stem).toFixed(1)} dB`);
    assert.deepEqual(readdirSync(join(out, 'song')).sort(), [SONG_MARK, 'all.wav']);
    assert.equal(r.stems.all, join(out, 'song', 'all.wav'));
  });

  test('stems plus the residual sum to the input within -60 dB after Wiener filtering', async () => {
    const input = testSignal(44100 * 4, 7);
    const writers = memoryWriters();
    const sources = ['bass', 'drums', 'vocals', 'other'];
    // Deliberately bad estimates that neither sum to the mixture nor stay in proportion across bins.
    const model = fakeModel(sources, (j, bin) => 0.1 + 0.3 * Math.abs(Math.sin(j + bin * 0.01 * (j + 1))));
    const controls = { wienerIterations: 1, softmask: false, residual: true };
    await separateFile(job(tmp(), { controls }), model, deps(input, 44100, writers));
    assert.deepEqual([...writers.stems.keys()].sort(), [...sources, 'residual'].sort());
    const sum = [new Float32Array(input[0].length), new Float32Array(input[0].length)];
    for (const stem of writers.stems.values())
      for (let c = 0; c < 2; c++) for (let i = 0; i < sum[c].length; i++) sum[c][i] += stem[c][i];
    const db = errorDb(input, sum);
    assert.ok(db < -60, `mixture error ${db.toFixed(1)} dB`);
  });

  test('writes stems at the input rate with exactly the input length', async () => {
    // No noise: white noise above 22.05 kHz cannot survive a trip through 44.1 kHz.
    const input = testSignal(48000 * 2 + 17, 1, 0);
    const writers = memoryWriters();
    const r = await separateFile(
      job(tmp()),
      fakeModel(['all'], () => 1),
      deps(input, 48000, writers),
    );
    assert.equal(r.sampleRate, 48000);
    const stem = writers.stems.get('all')!;
    assert.equal(stem[0].length, input[0].length);
    // The test signal lies far below 22 kHz, so the round trip through 44.1 kHz keeps it.
    const inner = (a: Float32Array[]) => a.map((c) => c.subarray(2000, c.length - 2000));
    assert.ok(errorDb(inner(input), inner(stem)) < -50, `error ${errorDb(inner(input), inner(stem)).toFixed(1)} dB`);
  });

  test('cancelling mid-job throws CANCELLED and leaves no file and no stem folder', async () => {
    const out = tmp();
    const controller = new AbortController();
    let runs = 0;
    const model = fakeModel(
      ['a', 'b'],
      () => 0.5,
      () => {
        if (++runs === 2) controller.abort();
      },
    );
    await assert.rejects(
      separateFile(job(out), model, deps(testSignal(44100 * 5), 44100, memoryWriters()), { signal: controller.signal }),
      (e: XumxError) => e.code === 'CANCELLED',
    );
    assert.deepEqual(readdirSync(out), []);
  });

  test('a writer failing half-way leaves nothing behind, not even the stems already complete', async () => {
    const out = tmp();
    const writers = memoryWriters();
    writers.failOn = 'b';
    await assert.rejects(
      separateFile(
        job(out),
        fakeModel(['a', 'b'], () => 0.5),
        deps(testSignal(44100 * 2), 44100, writers),
      ),
      (e: XumxError) => e.code === 'DISK_FULL',
    );
    assert.equal(existsSync(join(out, 'song')), false);
  });

  test("a float WAV at 1e30 gives the stem writers' notices, named by stem, not silent full-scale stems", async () => {
    const input = floatWav(
      join(tmp(), 'loud.wav'),
      testSignal(44100 * 2).map((c) => c.map((v) => v * 1e30)),
      44100,
    );
    for (const bitDepth of [16, '32f'] as const) {
      const r = await separateFile(
        job(tmp(), { input, bitDepth }),
        fakeModel(['vocals', 'bass'], () => 0.5),
        { decode: decodeFile, createStemWriter },
      );
      const peak = (await decodeFile(r.stems.vocals)).channels[0].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      assert.ok(peak >= 1, `${bitDepth}: the stems were not loud (peak ${peak}), the test would prove nothing`);
      for (const stem of ['vocals', 'bass']) {
        assert.ok(
          r.notices.some((n) => new RegExp(`^([a-z]+, )*${stem}(, [a-z]+)*: .*beyond full scale`).test(n)),
          `${bitDepth}: ${JSON.stringify(r.notices)}`,
        );
      }
    }
  });

  test('a full disk is DISK_FULL naming the stem, not its temporary file, and leaves no folder the job created', async (t) => {
    const disk = join(tmp(), 'disk');
    mkdirSync(disk);
    await onSmallDisk(t, disk, '256k', async () => {
      const out = join(disk, 'new', 'stems');
      await assert.rejects(
        separateFile(
          job(out, { bitDepth: 24 }),
          fakeModel(['a', 'b'], () => 0.5),
          {
            decode: async () => ({ sampleRate: 44100, channels: testSignal(44100 * 5), notices: [] }),
            createStemWriter,
          },
        ),
        (e: XumxError) => {
          assert.equal(e.code, 'DISK_FULL', e.message);
          assert.match(e.message, new RegExp(`^${join(out, 'song')}/[ab]\\.wav: `));
          assert.match(e.file ?? '', /\/song\/[ab]\.wav$/);
          return true;
        },
      );
      assert.deepEqual(readdirSync(disk), []);
    });
  });

  /** Stems of `input` written with and without a listening copy at `copyPath`, and what the copy reported. */
  async function withCopyAt(input: string, copyPath: string) {
    const sources = ['a', 'b'];
    const model = fakeModel(sources, (j, bin) => (bin % 2 === j ? 0.8 : 0.2));
    const realDeps = { decode: decodeFile, createStemWriter };
    const plain = await separateFile(job(tmp(), { input }), model, realDeps);
    const reports: ListenProgress[] = [];
    const result = await separateFile(job(tmp(), { input }), model, realDeps, {
      listen: { path: copyPath, onReady: (l) => reports.push(l) },
    });
    for (const s of sources) {
      const want = await decodeFile(plain.stems[s]);
      const got = await decodeFile(result.stems[s]);
      assert.equal(got.channels[0].length, want.channels[0].length, `${s}: length`);
      for (const c of [0, 1]) assert.deepEqual(got.channels[c], want.channels[c], `${s}: channel ${c}`);
    }
    return { result, reports };
  }

  test('writes the stems when the listening copy cannot be made (a file is in the way of its folder), and says why', async () => {
    const dir = tmp();
    const input = floatWav(join(dir, 'song.wav'), testSignal(44100 * 2, 5), 44100);
    writeFileSync(join(dir, 'listening'), 'not a folder');
    const copyPath = join(dir, 'listening', 'song.copy');
    const { result, reports } = await withCopyAt(input, copyPath);
    const last = reports.at(-1)!;
    assert.equal(last.readyFrames, 0);
    assert.equal(last.frames, 44100 * 2);
    assert.match(last.notWritten ?? '', /listening: .*listening copy.*a file with that name is in the way/);
    assert.ok(result.notices.includes(last.notWritten!), JSON.stringify(result.notices));
  });

  // The 3-s song's whole copy takes about 1.1 MB and its first ready part about 0.25 MB: a 512 KiB disk fills half-way.
  test('writes the stems when the listening copy fills its disk half-way, removes the partial copy and says why', async (t) => {
    const copyDisk = join(tmp(), 'copy-disk');
    mkdirSync(copyDisk);
    await onSmallDisk(t, copyDisk, '512k', async () => {
      const input = floatWav(join(tmp(), 'song.wav'), testSignal(44100 * 3, 6), 44100);
      const copyPath = join(copyDisk, 'song.copy');
      const { result, reports } = await withCopyAt(input, copyPath);
      assert.ok(
        reports.some((l) => l.readyFrames > 0),
        'frames were written before the disk filled: the copy was partial',
      );
      const last = reports.at(-1)!;
      assert.equal(last.readyFrames, 0);
      assert.match(last.notWritten ?? '', /copy-disk: .*listening copy.*the disk is full/);
      assert.ok(result.notices.includes(last.notWritten!), JSON.stringify(result.notices));
      assert.deepEqual(readdirSync(copyDisk), [], 'no partial copy is left');
    });
  });

  test('with a listening copy, the first chunk is final before the network starts the next batch; without one they overlap', async () => {
    const input = floatWav(join(tmp(), 'song.wav'), testSignal(44100 * 2, 7), 44100);
    const order = async (listened: boolean) => {
      const events: string[] = [];
      const model = fakeModel(
        ['a', 'b'],
        () => 0.5,
        () => void events.push('run'),
      );
      await separateFile(
        job(tmp(), { input }),
        model,
        { decode: decodeFile, createStemWriter },
        listened
          ? {
              listen: {
                path: join(tmp(), 'song.copy'),
                onReady: (l) => {
                  if (l.readyFrames > 0 && !events.includes('final')) events.push('final');
                },
              },
            }
          : {},
      );
      return events;
    };
    const withCopy = await order(true);
    assert.deepEqual(withCopy.slice(0, 3), ['run', 'final', 'run'], withCopy.join(' '));
    // Without a listener (the CLI) nothing waits: the next batch is on its way while the first chunk renders.
    const plain = await order(false);
    assert.deepEqual(plain.slice(0, 2), ['run', 'run'], plain.join(' '));
  });

  test('reports progress that only moves forward and ends at 1', async () => {
    const seen: number[] = [];
    await separateFile(
      job(tmp()),
      fakeModel(['all'], () => 1),
      deps(testSignal(44100 * 4), 44100, memoryWriters()),
      { onProgress: (p) => seen.push(p.fraction) },
    );
    assert.ok(seen.length > 5);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
    assert.equal(seen.at(-1), 1);
  });
});
