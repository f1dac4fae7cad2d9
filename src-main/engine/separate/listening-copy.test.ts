import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFile } from '../audio/decode.ts';
import { createStemWriter } from '../audio/stem-writer.ts';
import type { ListenProgress } from '../types.ts';
import { BLOCK_FRAMES } from './listen-codec.ts';
import { ListeningCopy, PEAK_FRAMES, readListeningCopy, readListeningPeaks } from './listening-copy.ts';
import { separateFile, type PipelineJob } from './pipeline.ts';
import { fakeModel, floatWav, testSignal } from './testing/fakes.ts';

const SOURCES = ['vocals', 'drums', 'bass', 'other'];
const gains = (j: number, bin: number) => (bin % SOURCES.length === j ? 0.9 : 0.1 / (j + 1));

function job(input: string, outDir: string, over: Partial<PipelineJob> = {}): PipelineJob {
  return {
    input,
    outDir,
    format: 'wav',
    bitDepth: '32f',
    controls: { wienerIterations: 1, softmask: false, residual: false },
    segments: { segmentFrames: 32, overlapFrames: 4, batch: 2 },
    ...over,
  };
}

/** Frames [0, frames) of a copy file of a song of `songFrames` frames, per stem, planar. */
async function readCopy(path: string, stems: number, songFrames: number, frames: number): Promise<Float32Array[][]> {
  const all = await readListeningCopy(path, stems, songFrames, 0, frames);
  return Array.from({ length: stems }, (_, s) =>
    [0, 1].map((c) => Float32Array.from({ length: frames }, (_, i) => all[(i * stems + s) * 2 + c])),
  );
}

function maxDiff(a: Float32Array, b: Float32Array, n = a.length): number {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('listening copy', () => {
  for (const rate of [44100, 48000]) {
    test(`holds the stems' own samples, every stem interleaved at the song's rate (${rate / 1000} kHz)`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'xumx-listen-'));
      try {
        const length = Math.round(rate * 2.3);
        const input = floatWav(join(dir, 'song.wav'), testSignal(length, 3), rate);
        const copyPath = join(dir, 'copies', 'song.copy');
        const reports: ListenProgress[] = [];
        const result = await separateFile(
          job(input, join(dir, 'out')),
          fakeModel(SOURCES, gains),
          { decode: decodeFile, createStemWriter },
          { listen: { path: copyPath, onReady: (l) => reports.push(l) } },
        );
        const last = reports.at(-1)!;
        assert.deepEqual(last, { sampleRate: rate, frames: length, readyFrames: length, sources: SOURCES });
        const bytes = statSync(copyPath).size;
        // Besides the samples: the peaks, two float32 per stem per PEAK_FRAMES frames.
        const peaks = 8 * SOURCES.length * Math.ceil(length / PEAK_FRAMES);
        assert.ok(
          bytes <= length * SOURCES.length * 2 * 2 * 1.01 + peaks,
          `${bytes} bytes: at most half of 32-bit floats' ${length * SOURCES.length * 2 * 4}, and ${peaks} of peaks`,
        );
        const copy = await readCopy(copyPath, SOURCES.length, length, length);
        for (const [s, source] of SOURCES.entries()) {
          const stem = await decodeFile(result.stems[source]);
          assert.equal(stem.sampleRate, rate);
          for (const c of [0, 1])
            assert.ok(
              maxDiff(stem.channels[c], copy[s][c]) <= 1e-4,
              `${source} channel ${c}: ${maxDiff(stem.channels[c], copy[s][c])}`,
            );
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test('never says a frame is ready before it is final: every block read while the song separates equals the stems', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-listen-'));
    try {
      const rate = 48000;
      const length = rate * 3;
      const input = floatWav(join(dir, 'song.wav'), testSignal(length, 5), rate);
      const copyPath = join(dir, 'song.copy');
      // The network is slow: the player reads what is ready between its runs.
      const model = fakeModel(SOURCES, gains, () => new Promise((r) => setTimeout(r, 5)));
      // What the player would read each time: the file as it was then.
      const seen: { ready: number; snapshot: string }[] = [];
      const result = await separateFile(
        job(input, join(dir, 'out'), { segments: { segmentFrames: 24, overlapFrames: 6, batch: 1 } }),
        model,
        { decode: decodeFile, createStemWriter },
        {
          listen: {
            path: copyPath,
            onReady: (l) => {
              const snapshot = join(dir, `seen-${seen.length}.copy`);
              copyFileSync(copyPath, snapshot);
              seen.push({ ready: l.readyFrames, snapshot });
            },
          },
        },
      );
      const during = seen.filter((s) => s.ready > 0 && s.ready < length);
      assert.ok(during.length >= 3, `frames became ready while the song separated (${during.length} times)`);
      for (let k = 1; k < seen.length; k++)
        assert.ok(seen[k].ready >= seen[k - 1].ready, 'readyFrames never goes back');
      const stems = await Promise.all(SOURCES.map((s) => decodeFile(result.stems[s])));
      for (const { ready, snapshot } of during) {
        const copy = await readCopy(snapshot, SOURCES.length, length, ready);
        for (const [s, source] of SOURCES.entries()) {
          for (const c of [0, 1]) {
            const d = maxDiff(stems[s].channels[c], copy[s][c], ready);
            assert.ok(
              d <= 1e-4,
              `${source} channel ${c}, first ${ready} frames read during the separation: off by ${d}`,
            );
          }
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('has final frames after one run of the network: the first batch holds one chunk, the others the batch size', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-listen-'));
    try {
      const input = floatWav(join(dir, 'song.wav'), testSignal(44100 * 4, 2), 44100);
      const inner = fakeModel(SOURCES, gains);
      const batches: number[] = [];
      let runsAtFirstFrames = -1;
      const model = {
        ...inner,
        run: (x: Float32Array, batch: number, frames: number) => {
          batches.push(batch);
          return inner.run(x, batch, frames);
        },
      };
      await separateFile(
        job(input, join(dir, 'out'), { segments: { segmentFrames: 24, overlapFrames: 6, batch: 3 } }),
        model,
        { decode: decodeFile, createStemWriter },
        {
          listen: {
            path: join(dir, 'song.copy'),
            onReady: (l) => {
              if (l.readyFrames > 0 && runsAtFirstFrames < 0) runsAtFirstFrames = batches.length;
            },
          },
        },
      );
      assert.equal(batches[0], 1, 'the first batch is one chunk');
      assert.ok(
        batches.slice(1, -1).every((b) => b === 3),
        `then batches of 3: ${batches.join(' ')}`,
      );
      // The next batch is launched before the first one's chunks are finished, so two runs have started by then.
      assert.ok(
        runsAtFirstFrames <= 2,
        `the first frames were final after ${runsAtFirstFrames} network runs had started`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('is removed when the separation is cancelled or fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-listen-'));
    try {
      const input = floatWav(join(dir, 'song.wav'), testSignal(44100 * 3, 7), 44100);
      const abort = new AbortController();
      const copyPath = join(dir, 'cancelled.copy');
      let written = false;
      const cancelled = separateFile(
        job(input, join(dir, 'out'), { segments: { segmentFrames: 24, overlapFrames: 6, batch: 1 } }),
        fakeModel(SOURCES, gains),
        { decode: decodeFile, createStemWriter },
        {
          signal: abort.signal,
          listen: {
            path: copyPath,
            onReady: (l) => {
              if (l.readyFrames > 0) {
                written = true;
                abort.abort();
              }
            },
          },
        },
      );
      await assert.rejects(cancelled, { code: 'CANCELLED' });
      assert.ok(written, 'frames were written before the cancel');
      assert.equal(existsSync(copyPath), false, 'the cancelled copy is gone');

      const failedPath = join(dir, 'failed.copy');
      const failing = separateFile(
        job(input, join(dir, 'out')),
        fakeModel(SOURCES, gains),
        {
          decode: decodeFile,
          createStemWriter: async (path, opts) => {
            const w = await createStemWriter(path, opts);
            return {
              ...w,
              notices: w.notices,
              write: () => {
                throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
              },
            };
          },
        },
        { listen: { path: failedPath, onReady: () => {} } },
      );
      await assert.rejects(failing, { code: 'DISK_FULL' });
      assert.equal(existsSync(failedPath), false, 'the failed copy is gone');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('records the smallest and largest sample per stem of every 100 frames while it writes, read back as far as frames are ready', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-listen-'));
    try {
      const length = 7 * BLOCK_FRAMES + 123;
      let seed = 11;
      const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
      // Per stem, two channels: noise of its own level, a silent stretch, and a sample beyond full scale.
      const stems = SOURCES.map((_, s) =>
        [0, 1].map((c) =>
          Float32Array.from({ length }, (_, i) =>
            i >= 2 * BLOCK_FRAMES && i < 3 * BLOCK_FRAMES ? 0 : (i === 2321 ? 1.7 : 1) * random() * (s + c + 1) * 0.2,
          ),
        ),
      );
      /** What the copy should hold of span k: the extremes of both channels of the stem there. */
      const extremes = (s: number, k: number) => {
        const part = stems[s].flatMap((ch) => [...ch.subarray(k * PEAK_FRAMES, (k + 1) * PEAK_FRAMES)]);
        return { min: Math.min(...part), max: Math.max(...part) };
      };
      const path = join(dir, 'song.copy');
      const reports: ListenProgress[] = [];
      const copy = await ListeningCopy.create(path, SOURCES, 44100, length, (l) => reports.push(l));
      const check = async (ready: number) => {
        const peaks = await readListeningPeaks(path, SOURCES.length, length, ready);
        assert.equal(peaks.peakFrames, PEAK_FRAMES);
        for (const s of SOURCES.keys()) {
          assert.equal(peaks.min[s].length, Math.ceil(ready / PEAK_FRAMES));
          for (let k = 0; k < peaks.min[s].length; k++)
            assert.deepEqual(
              { min: peaks.min[s][k], max: peaks.max[s][k] },
              extremes(s, k),
              `${SOURCES[s]}, span ${k}`,
            );
        }
      };
      // The stems arrive in uneven pieces, each stem behind the one before it.
      const given = SOURCES.map(() => 0);
      for (const step of [333, 1250, 2400, length]) {
        for (const s of SOURCES.keys()) {
          const to = step === length ? length : step - 40 * s;
          await copy.add(
            s,
            stems[s].map((ch) => ch.subarray(given[s], to)),
          );
          given[s] = to;
        }
        await check(reports.at(-1)!.readyFrames);
      }
      await copy.finish();
      assert.equal(reports.at(-1)!.readyFrames, length);
      await check(length);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
