import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  createStemWriter,
  decodeFile,
  decodeStream,
  inBlocks,
  stemFileFromStemFiles,
  writeAudioFile,
} from '../engine/index.ts';
import type { BitDepth, OutputFormat } from '../engine/types.ts';
import type { StemPeaks } from './contract.ts';
import { computePeaks, roundPeaks } from './peaks.ts';
import { stemFilePeaks } from './stem-peaks.ts';
import type { AudioPort } from './ports.ts';
import { MemoryAudio, SOURCES } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';

const RATE = 44100;
/** Odd, and no multiple of any bucket count asked for: most buckets are of two widths. */
const FRAMES = 12_347;
const BUCKETS = [1, 2, 3, 64, 1000, 1001, FRAMES - 1, FRAMES, FRAMES + 1, 100_000];

/**
 * The peaks of a stem as they were made before they were read a piece at a time, kept as the reference: the stem
 * decoded whole, split into `buckets` nearly equal runs, the extremes of each over all channels.
 */
function wholeStemPeaks(source: string, sampleRate: number, channels: Float32Array[], buckets: number): StemPeaks {
  const length = channels[0]?.length ?? 0;
  const n = Math.max(1, Math.min(buckets, Math.max(1, length)));
  const max = new Float32Array(n);
  const min = new Float32Array(n);
  for (let b = 0; b < n; b++) {
    const start = Math.floor((b * length) / n);
    const end = Math.max(start + 1, Math.floor(((b + 1) * length) / n));
    let hi = -Infinity;
    let lo = Infinity;
    for (const ch of channels) {
      for (let i = start; i < end && i < length; i++) {
        const v = ch[i];
        if (v > hi) hi = v;
        if (v < lo) lo = v;
      }
    }
    max[b] = hi === -Infinity ? 0 : hi;
    min[b] = lo === Infinity ? 0 : lo;
  }
  return { source, duration: length / sampleRate, max: roundPeaks(max), min: roundPeaks(min) };
}

/** How a test's decoder hands out a file: in pieces of `pieceFrames` (absent: as decoded), its length known or not. */
interface Reading {
  pieceFrames?: number;
  hideLength?: boolean;
}

const realAudio = (r: Reading): AudioPort => ({
  decodeFile,
  decodeStream: async (path, opts) => {
    const { frames, pieces, ...s } = await decodeStream(path, opts);
    return {
      ...s,
      ...(r.hideLength || frames === undefined ? {} : { frames }),
      pieces: r.pieceFrames ? inBlocks(pieces, r.pieceFrames) : pieces,
    };
  },
  createStemWriter,
  stemFileFromStemFiles,
});

/** How each stem is written: the header of a WAV gives its length, FLAC's and MP3's are found by reading them. */
const STEM_FORMATS: Record<string, { format: OutputFormat; bitDepth: BitDepth; channels: number }> = {
  vocals: { format: 'wav', bitDepth: '32f', channels: 2 },
  drums: { format: 'flac', bitDepth: 24, channels: 2 },
  bass: { format: 'wav', bitDepth: 16, channels: 1 },
  other: { format: 'mp3', bitDepth: 16, channels: 2 },
};

/**
 * A separated song whose stem files are real files, read by the real decoders: noise, a spike, and in the vocals a
 * silent stretch whose zeros are -0 on the left and +0 on the right (the sign of a silent bucket's extremes is the
 * first zero's).
 */
async function songOnDisk(reading: Reading) {
  const t = await fakeStudio('xumx-stem-peaks-', {
    frames: FRAMES,
    deps: (dir) => ({ audio: realAudio(reading), listenDir: join(dir, 'listening') }),
  });
  const [job] = await t.service.open(['/songs/a.wav']);
  await t.service.idle();
  const paths = (await t.service.listJobs())[0].result!.stemPaths;
  let seed = 7;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.8;
  for (const [k, s] of SOURCES.entries()) {
    const { channels: count, ...o } = STEM_FORMATS[s];
    const channels = Array.from({ length: count }, (_, c) => {
      const ch = Float32Array.from({ length: FRAMES }, noise);
      ch[(k + 1) * 1009 + c] = 0.99 - 0.1 * k;
      if (s === 'vocals') ch.fill(c === 0 ? -0 : 0, 5000, 5600);
      return ch;
    });
    await mkdir(dirname(paths[s]), { recursive: true });
    await writeAudioFile(paths[s], channels, { ...o, sampleRate: RATE, channels: count });
  }
  return { ...t, job, paths };
}

describe('peaks of a stem file', () => {
  test("are the whole stem's numbers, whatever the buckets, the pieces, or whether its length is known", async () => {
    const readings: Reading[] = [
      {},
      { pieceFrames: 1 },
      { pieceFrames: 1000, hideLength: true },
      { pieceFrames: 4096 },
    ];
    for (const reading of readings) {
      const t = await songOnDisk(reading);
      for (const s of SOURCES) {
        const whole = await decodeFile(t.paths[s], { tags: false });
        for (const buckets of BUCKETS) {
          assert.deepEqual(
            await t.service.peaks(t.job.id, s, buckets),
            wholeStemPeaks(s, whole.sampleRate, whole.channels, buckets),
            `${s} (${STEM_FORMATS[s].format}) in ${buckets} buckets, read ${JSON.stringify(reading)}`,
          );
        }
      }
      await t.done();
    }
  });

  test('fail with the file and the reason, and keep nothing of a stem that could not be read', async () => {
    const t = await songOnDisk({});
    const drums = t.paths.drums;
    const whole = await decodeFile(drums, { tags: false });
    await truncate(drums, Math.round((await stat(drums)).size * 0.6));
    const fails = (code: string) => (e: { code: string; message: string; file?: string }) => {
      assert.equal(e.code, code, e.message);
      assert.equal(e.file, drums);
      assert.ok(e.message.startsWith(`${drums}: `), e.message);
      return true;
    };
    await assert.rejects(t.service.peaks(t.job.id, 'drums', 100), fails('TRUNCATED'));
    await rm(drums);
    await assert.rejects(t.service.peaks(t.job.id, 'drums', 100), fails('FILE_NOT_FOUND'));
    await writeAudioFile(drums, whole.channels, { format: 'flac', bitDepth: 24, sampleRate: RATE, channels: 2 });
    assert.deepEqual(
      await t.service.peaks(t.job.id, 'drums', 100),
      wholeStemPeaks('drums', RATE, whole.channels, 100),
      'the peaks once the stem can be read',
    );
    await t.done();
  });

  test('hold about a piece of the stem at a time, however long the stem', async () => {
    let audio!: ReturnType<typeof recyclingAudio>;
    const t = await fakeStudio('xumx-stem-peaks-bounded-', {
      deps: (_dir, memory) => ({ audio: (audio = recyclingAudio(memory)).port }),
    });
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    // A stem far longer than the song separated: the peaks are of whatever the stem file holds.
    const frames = 1_500_001;
    const paths = (await t.service.listJobs())[0].result!.stemPaths;
    const left = Float32Array.from({ length: frames }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
    const right = Float32Array.from({ length: frames }, (_, i) => Math.sin(i / 300) * 0.7);
    t.audio.files.set(paths.drums, { sampleRate: RATE, channels: [left, right] });
    t.audio.files.set(paths.bass, { sampleRate: RATE, channels: [right] });
    for (const [source, hideLength] of [
      ['drums', false],
      ['bass', true],
    ] as const) {
      audio.hideLength = hideLength;
      audio.mostGiven = 0;
      const channels = source === 'drums' ? [left, right] : [right];
      for (const buckets of [1, 999, 4000]) {
        assert.deepEqual(
          await t.service.peaks(job.id, source, buckets),
          wholeStemPeaks(source, RATE, channels, buckets),
          `${source} in ${buckets} buckets, ${hideLength ? 'its length found by reading it' : 'its length known'}`,
        );
      }
      assert.ok(
        audio.mostGiven <= PIECE,
        `a piece at a time (${audio.mostGiven} frames were given at once, of ${frames})`,
      );
    }
    await t.done();
  });
  test('of a stem replaced while read are the new one; a stem that keeps changing fails, naming it', async () => {
    const versions = [900, 1200, 1200, 700, 800, 900].map((n) => Float32Array.from({ length: n }, (_, i) => i / n));
    let reads = 0;
    // The header says 1000 frames, whatever the file holds when it is read.
    const decode = async () => {
      const ch = versions[reads++];
      return { sampleRate: RATE, frames: 1000, pieces: inBlocks(once([ch]), 256) };
    };
    const peaks = await stemFilePeaks('/stems/vocals.wav', 7, decode);
    assert.equal(reads, 3, 'read until two reads agree');
    assert.deepEqual(peaks, { ...computePeaks([versions[2]], 7), sampleRate: RATE, frames: 1200 });
    await assert.rejects(stemFilePeaks('/stems/vocals.wav', 7, decode), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'FILE_UNREADABLE');
      assert.ok(e.message.startsWith('/stems/vocals.wav: '), e.message);
      return true;
    });
  });
});

const PIECE = 4096;

/**
 * The in-memory codecs, their streams handing out every piece in the same arrays: a piece's samples are gone once the
 * next is asked for, so peaks made of pieces kept would come out wrong. `mostGiven` is the most frames given at once
 * (a whole decoded file gives all of its frames).
 */
function recyclingAudio(memory: MemoryAudio) {
  const c = { hideLength: false, mostGiven: 0, port: null as unknown as AudioPort };
  c.port = {
    decodeFile: (path) => {
      const a = memory.decodeFile(path);
      c.mostGiven = Math.max(c.mostGiven, a.channels[0].length);
      return a;
    },
    decodeStream: async (path) => {
      const { sampleRate, channels } = memory.decodeFile(path);
      const frames = channels[0].length;
      const buffers = channels.map(() => new Float32Array(PIECE));
      async function* pieces() {
        for (let at = 0; at < frames; at += PIECE) {
          const n = Math.min(PIECE, frames - at);
          buffers.forEach((b, k) => b.set(channels[k].subarray(at, at + n)));
          c.mostGiven = Math.max(c.mostGiven, n);
          yield buffers.map((b) => b.subarray(0, n));
        }
      }
      return { sampleRate, ...(c.hideLength ? {} : { frames }), pieces: pieces() };
    },
    createStemWriter: (path, o) => memory.createStemWriter(path, o),
    stemFileFromStemFiles: (...a) => memory.stemFileFromStemFiles(...a),
  };
  return c;
}

async function* once(piece: Float32Array[]): AsyncGenerator<Float32Array[]> {
  yield piece;
}
