import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { XumxError } from '../errors.ts';
import type { ModelManifest } from '../model/manifest.ts';
import type { ModelRunner } from '../model/session.ts';
import { separateFile, type PipelineDeps, type PipelineJob, type PreparedSong, type SongMemo } from './pipeline.ts';
import { LastSongMemo } from './song-memo.ts';
import { SONG_MARK } from './stem-folder.ts';
import type { StemWriterFactory } from './stem-sink.ts';

const BINS = 2049;

function manifest(sources: string[]): ModelManifest {
  return {
    id: 'fake', name: 'fake', architecture: 'test', sources, sampleRate: 44100, nFft: 4096, hop: 1024, file: 'x.onnx',
    sha256: '0'.repeat(64), size: 1, license: 'MIT', provenance: 'test', metrics: {}, testOnly: true,
  };
}

/** A "network" that gives source j the mixture magnitude times gains[j](bin): no learning, exact and fast. */
function fakeModel(sources: string[], gain: (source: number, bin: number) => number, onRun?: () => void): ModelRunner {
  return {
    manifest: manifest(sources), ep: 'cpu', epSkipped: [],
    async run(input, batch, frames) {
      onRun?.();
      const plane = BINS * frames;
      const out = new Float32Array(sources.length * batch * 2 * plane);
      for (let j = 0; j < sources.length; j++) {
        for (let i = 0; i < batch * 2 * plane; i++) out[j * batch * 2 * plane + i] = input[i] * gain(j, Math.floor((i % plane) / frames));
      }
      return out;
    },
    async dispose() {},
  };
}

/** Stem writers that keep the samples in memory (by source name) and leave an empty file to rename. */
function memoryWriters(): { factory: StemWriterFactory; stems: Map<string, Float32Array[]>; failOn?: string } {
  const stems = new Map<string, Float32Array[]>();
  const state = {
    stems,
    failOn: undefined as string | undefined,
    factory: ((path: string) => {
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
          for (const p of parts) { joined[0].set(p[0], at); joined[1].set(p[1], at); at += p[0].length; }
          stems.set(source, joined);
          writeFileSync(path, '');
        },
        async abort() {},
      };
    }) as StemWriterFactory,
  };
  return state;
}

function testSignal(length: number, seed = 1, noiseLevel = 0.05): Float32Array[] {
  const l = new Float32Array(length), r = new Float32Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const noise = (s / 2 ** 32 - 0.5) * noiseLevel;
    l[i] = 0.4 * Math.sin(i * 0.0313) + 0.2 * Math.sin(i * 0.171) + noise;
    r[i] = 0.3 * Math.sin(i * 0.0491 + 1) + noise;
  }
  return [l, r];
}

function job(outDir: string, over: Partial<PipelineJob> = {}): PipelineJob {
  return {
    input: '/music/song.wav', outDir, format: 'wav', bitDepth: '32f',
    controls: { wienerIterations: 0, softmask: false, residual: false },
    segments: { segmentFrames: 32, overlapFrames: 4, batch: 3 }, ...over,
  };
}

function deps(signal: Float32Array[], sampleRate: number, writers: ReturnType<typeof memoryWriters>): PipelineDeps {
  return { decode: async () => ({ sampleRate, channels: signal.map((c) => c.slice()), notices: [] }), createStemWriter: writers.factory };
}

function errorDb(ref: Float32Array[], got: Float32Array[]): number {
  let e = 0, p = 0;
  for (let c = 0; c < ref.length; c++) for (let i = 0; i < ref[c].length; i++) { e += (ref[c][i] - got[c][i]) ** 2; p += ref[c][i] ** 2; }
  return 10 * Math.log10(e / p);
}

const tmp = () => mkdtempSync(join(tmpdir(), 'xumx-pipeline-'));

describe('separateFile', () => {
  test('with a song memo, a second job on an unchanged file skips decoding and gives the same stems; a changed file is decoded again', async () => {
    const dir = tmp();
    const input = join(dir, 'song.wav');
    writeFileSync(input, 'first version');
    const signal = testSignal(48000 * 2, 3);
    let decodes = 0;
    const run = async () => {
      const writers = memoryWriters();
      await separateFile(job(tmp(), { input, controls: { wienerIterations: 1, softmask: false, residual: false } }),
        fakeModel(['a', 'b'], (j) => (j === 0 ? 0.7 : 0.3)),
        { decode: async () => { decodes++; return { sampleRate: 48000, channels: signal.map((c) => c.slice()), notices: [] }; }, createStemWriter: writers.factory, songs: memo });
      return writers.stems;
    };
    const inner = new LastSongMemo();
    let stored: PreparedSong | undefined;
    const memo: SongMemo = { get: (k) => inner.get(k), set: (k, song) => { stored = song; inner.set(k, song); } };
    const first = await run();
    const kept = stored!.song.map((c) => c.slice());
    const second = await run();
    assert.equal(decodes, 1);
    for (const name of ['a', 'b']) for (let c = 0; c < 2; c++) assert.deepEqual(second.get(name)![c], first.get(name)![c]);
    assert.deepEqual(stored!.song, kept, 'the kept song was not changed by the jobs');
    writeFileSync(input, 'second, longer version');
    await run();
    assert.equal(decodes, 2);
  });

  test('an identity network gives the input back through chunks, crossfades and the STFT round trip', async () => {
    const input = testSignal(44100 * 3 + 123);
    const writers = memoryWriters();
    const out = tmp();
    const r = await separateFile(job(out), fakeModel(['all'], () => 1), deps(input, 44100, writers));
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
    for (const stem of writers.stems.values()) for (let c = 0; c < 2; c++) for (let i = 0; i < sum[c].length; i++) sum[c][i] += stem[c][i];
    const db = errorDb(input, sum);
    assert.ok(db < -60, `mixture error ${db.toFixed(1)} dB`);
  });

  test('writes stems at the input rate with exactly the input length', async () => {
    // No noise: white noise above 22.05 kHz cannot survive a trip through 44.1 kHz.
    const input = testSignal(48000 * 2 + 17, 1, 0);
    const writers = memoryWriters();
    const r = await separateFile(job(tmp()), fakeModel(['all'], () => 1), deps(input, 48000, writers));
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
    const model = fakeModel(['a', 'b'], () => 0.5, () => { if (++runs === 2) controller.abort(); });
    await assert.rejects(
      separateFile(job(out), model, deps(testSignal(44100 * 5), 44100, memoryWriters()), { signal: controller.signal }),
      (e: XumxError) => e.code === 'CANCELLED');
    assert.deepEqual(readdirSync(out), []);
  });

  test('a writer failing half-way leaves nothing behind, not even the stems already complete', async () => {
    const out = tmp();
    const writers = memoryWriters();
    writers.failOn = 'b';
    await assert.rejects(separateFile(job(out), fakeModel(['a', 'b'], () => 0.5), deps(testSignal(44100 * 2), 44100, writers)),
      (e: XumxError) => e.code === 'DISK_FULL');
    assert.equal(existsSync(join(out, 'song')), false);
  });

  test('reports progress that only moves forward and ends at 1', async () => {
    const seen: number[] = [];
    await separateFile(job(tmp()), fakeModel(['all'], () => 1), deps(testSignal(44100 * 4), 44100, memoryWriters()),
      { onProgress: (p) => seen.push(p.fraction) });
    assert.ok(seen.length > 5);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] >= seen[i - 1]);
    assert.equal(seen.at(-1), 1);
  });
});
