import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, stat, truncate, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  createStemWriter,
  cutRegion,
  decodeFile,
  decodeStream,
  mixTags,
  renderTimePitch,
  stemFileFromStemFiles,
  stretchedLength,
  tempName,
  writeAudioFile,
  type AudioTags,
  type TimePitch,
} from '../engine/index.ts';
import type { BitDepth, OutputFormat, PcmAudio } from '../engine/types.ts';
import type { ExportRegion } from './contract.ts';
import { WRITTEN_OUTPUTS } from '../../test/fixtures/audio.ts';
import { mixStems } from './mix.ts';
import type { AudioPort } from './ports.ts';
import { MemoryAudio, SOURCES } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';

const RATE = 44100;
/** More than one of the writer's blocks (2^18 frames), so that the blocks' seams are in every export. */
const FRAMES = 300_000;
/** The frames the writer is given at a time: an export must not hold much more than this of each stem. */
const WRITE_BLOCK = 1 << 18;

/**
 * The real codecs, the stem files read in pieces of at most PIECE_FRAMES: a test stem is one piece of the real
 * decoder, and pieces that are not whole multiples of the stretcher's calls must not change a sample either.
 */
const PIECE_FRAMES = 10_007;
/** Run once after the next stem file is opened (a re-render landing while an export opens its stems). */
let afterOpen: (() => Promise<void>) | null = null;
const realAudio: AudioPort = {
  decodeFile,
  decodeStream: async (path, opts) => {
    const s = await decodeStream(path, opts);
    const then = afterOpen;
    afterOpen = null;
    await then?.();
    async function* pieces() {
      for await (const p of s.pieces)
        for (let at = 0; at < p[0].length; at += PIECE_FRAMES) yield p.map((c) => c.subarray(at, at + PIECE_FRAMES));
    }
    return { ...s, pieces: pieces() };
  },
  createStemWriter,
  // Through the decoder above: in pieces, as a long stem is read.
  stemFileFromStemFiles: (files, path, o) =>
    stemFileFromStemFiles(files, path, { ...o, decode: realAudio.decodeStream }),
};

/**
 * A separated song whose stem files are real files on disk, read and written by the real codecs: noise and tones,
 * the bass mono and "other" a little shorter than the rest (a mix pads it with silence), each with its own tags.
 * `uniform`: every stem stereo and as long as the others, as a stem file needs them.
 */
async function songOnDisk(o: { uniform?: boolean } = {}) {
  const t = await fakeStudio('xumx-export-audio-', {
    frames: FRAMES,
    // Every export-progress event goes out, however close to the one before.
    deps: (dir) => ({ audio: realAudio, listenDir: join(dir, 'listening'), exportProgressMs: 0 }),
  });
  const [job] = await t.service.open(['/songs/a.wav']);
  await t.service.idle();
  const paths = (await t.service.listJobs())[0].result!.stemPaths;
  let seed = 11;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.6;
  for (const [k, s] of SOURCES.entries()) {
    const frames = s === 'other' && !o.uniform ? FRAMES - 1234 : FRAMES;
    const tone = (hz: number) =>
      Float32Array.from({ length: frames }, (_, i) => 0.3 * Math.sin((2 * Math.PI * hz * i) / RATE) + noise());
    const channels = s === 'bass' && !o.uniform ? [tone(55)] : [tone(220 * (k + 1)), tone(330 * (k + 1))];
    const tags: AudioTags = { title: `a - ${s}`, artist: 'The Stems', track: k + 1 };
    await mkdir(dirname(paths[s]), { recursive: true });
    await writeAudioFile(paths[s], channels, {
      format: 'wav',
      bitDepth: '32f',
      sampleRate: RATE,
      channels: channels.length,
      tags,
    });
  }
  return { ...t, job, paths };
}

interface Shape {
  format: OutputFormat;
  bitDepth: BitDepth;
  region?: ExportRegion;
  timePitch?: TimePitch;
}

/**
 * The export as it was made before it read stems a piece at a time, kept as the reference: each stem decoded whole,
 * cut to the region, stretched, mixed, and given to the writer 2^18 frames at a time.
 */
async function wholeSongExport(
  out: string,
  stemPaths: string[],
  gains: number[] | null,
  o: Shape & { title?: string },
): Promise<void> {
  const stems: (PcmAudio & { tags: AudioTags })[] = [];
  for (const p of stemPaths)
    stems.push(cutRegion(await decodeFile(p, { tags: !gains || stems.length === 0 }), o.region));
  const tp = o.timePitch;
  const stretched = await Promise.all(
    stems.map(async (s, k) => ({
      ...s,
      channels: !tp
        ? s.channels
        : gains?.[k] === 0
          ? s.channels.map((c) => new Float32Array(stretchedLength(c.length, tp.tempo)))
          : await renderTimePitch(s.channels, s.sampleRate, tp),
    })),
  );
  const audio = gains ? mixStems(stretched, gains) : stretched[0];
  const tags = gains ? mixTags(stems[0].tags, o.title, 'mix') : stems[0].tags;
  const writer = await createStemWriter(out, {
    format: o.format,
    bitDepth: o.bitDepth,
    sampleRate: audio.sampleRate,
    channels: audio.channels.length,
    tags,
  });
  const length = audio.channels[0].length;
  for (let i = 0; i < length; i += WRITE_BLOCK)
    await writer.write(audio.channels.map((c) => c.subarray(i, i + WRITE_BLOCK)));
  await writer.close();
}

const GAINS = { vocals: 0.8, drums: 1, bass: 0.5, other: 0.7 };

describe('exports read a piece at a time', () => {
  test('write the very bytes of the whole-song export: the mix in every format, whole and a region', async () => {
    const t = await songOnDisk();
    const region = { start: 0.75, end: 6.5 }; // across the first block's end
    const shapes: Shape[] = [
      ...WRITTEN_OUTPUTS,
      { format: 'wav', bitDepth: 16, region },
      { format: 'flac', bitDepth: 24, region },
    ];
    for (const [n, shape] of shapes.entries()) {
      const what = `${shape.format} ${shape.bitDepth}${shape.region ? ' region' : ''}`;
      const r = await t.service.exportMix({
        jobId: t.job.id,
        gains: GAINS,
        folder: join(t.dir, 'out'),
        name: `m${n}`,
        ...shape,
      });
      const ref = join(t.dir, `reference-m${n}`);
      const sources = Object.keys(GAINS);
      await wholeSongExport(
        ref,
        sources.map((s) => t.paths[s]),
        Object.values(GAINS),
        shape,
      );
      assert.ok((await readFile(r.files[0])).equals(await readFile(ref)), `the ${what} mix`);
    }
    await t.done();
  });

  test('write the very bytes of the whole-song export: stems whole and a region, a mix with a muted stem', async () => {
    const t = await songOnDisk();
    const shapes: Shape[] = [
      { format: 'wav', bitDepth: 16 },
      { format: 'mp3', bitDepth: 16, region: { start: 2, end: 6.4 } },
    ];
    for (const [n, shape] of shapes.entries()) {
      const r = await t.service.exportStems({
        jobId: t.job.id,
        sources: SOURCES,
        folder: join(t.dir, `s${n}`),
        ...shape,
      });
      for (const [k, s] of SOURCES.entries()) {
        const ref = join(t.dir, `reference-s${n}-${s}`);
        await wholeSongExport(ref, [t.paths[s]], null, shape);
        assert.ok((await readFile(r.files[k])).equals(await readFile(ref)), `${s} as ${shape.format}`);
      }
    }
    const gains = { ...GAINS, drums: 0 };
    const shape: Shape = { format: 'wav', bitDepth: '32f' };
    const r = await t.service.exportMix({
      jobId: t.job.id,
      gains,
      folder: join(t.dir, 'out'),
      name: 'silent',
      ...shape,
    });
    await wholeSongExport(
      join(t.dir, 'reference'),
      SOURCES.map((s) => t.paths[s]),
      Object.values(gains),
      shape,
    );
    assert.ok((await readFile(r.files[0])).equals(await readFile(join(t.dir, 'reference'))), 'the mix without drums');
    await t.done();
  });

  test('write the very bytes of the whole-song export at another tempo and key', async () => {
    const t = await songOnDisk();
    const timePitch = { tempo: 0.8, semitones: -2 };
    const region = { start: 0.2, end: 6.3 }; // more than a block of input: the stretcher is fed twice
    const gains = { ...GAINS, bass: 0 };
    const shape: Shape = { format: 'wav', bitDepth: '32f', region, timePitch };
    const mix = await t.service.exportMix({
      jobId: t.job.id,
      gains,
      folder: join(t.dir, 'out'),
      name: 'slow',
      ...shape,
    });
    await wholeSongExport(
      join(t.dir, 'reference'),
      SOURCES.map((s) => t.paths[s]),
      Object.values(gains),
      shape,
    );
    assert.ok((await readFile(mix.files[0])).equals(await readFile(join(t.dir, 'reference'))), 'the mix');
    const fast: Shape = { format: 'wav', bitDepth: 24, timePitch: { tempo: 1.25, semitones: 3 } };
    const stems = await t.service.exportStems({
      jobId: t.job.id,
      sources: ['drums'],
      folder: join(t.dir, 'st'),
      ...fast,
    });
    await wholeSongExport(join(t.dir, 'reference-drums'), [t.paths.drums], null, fast);
    assert.ok((await readFile(stems.files[0])).equals(await readFile(join(t.dir, 'reference-drums'))), 'the drums');
    await t.done();
  });

  test('hold a bounded part of the stems at a time, however long the song', async () => {
    let counted!: ReturnType<typeof countingAudio>;
    const t = await fakeStudio('xumx-export-bounded-', {
      deps: (_dir, audio) => ({ audio: (counted = countingAudio(audio)).port }),
    });
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    // Stems far longer than the song separated: exports read whatever the stem files hold.
    const frames = 1_500_000;
    const paths = (await t.service.listJobs())[0].result!.stemPaths;
    for (const [k, s] of SOURCES.entries()) {
      const c = Float32Array.from({ length: frames }, (_, i) => ((i % 1000) / 1000 - 0.5) * (k + 1) * 0.1);
      t.audio.files.set(paths[s], { sampleRate: RATE, channels: [c, c.slice()] });
    }
    const service = t.service;

    counted.feeding = SOURCES.length;
    await service.exportMix({
      jobId: job.id,
      gains: GAINS,
      folder: join(t.dir, 'out'),
      name: 'm',
      format: 'wav',
      bitDepth: 16,
    });
    assert.equal(counted.written, frames, 'the whole mix is written');
    assert.ok(
      counted.mostHeld <= SOURCES.length * (WRITE_BLOCK + 256),
      `the mix holds about a block of each stem at once ` +
        `(${counted.mostHeld} frames were, of ${SOURCES.length * frames})`,
    );

    counted.reset(1);
    await service.exportStems({
      jobId: job.id,
      sources: ['drums', 'bass'],
      folder: join(t.dir, 's'),
      format: 'flac',
      bitDepth: 24,
    });
    assert.equal(counted.written, 2 * frames, 'both stems are written whole');
    assert.ok(
      counted.mostHeld <= WRITE_BLOCK + 256,
      `a stem export holds about a block of its stem at once (${counted.mostHeld} frames were, of ${frames})`,
    );
    await t.done();
  });

  test('a stems export that a re-render lands beside writes every stem from one render', async () => {
    const t = await songOnDisk();
    // The re-render: every stem at half its level, written beside it and renamed into place, as a commit does.
    afterOpen = async () => {
      for (const s of SOURCES) {
        const { channels, sampleRate } = await decodeFile(t.paths[s]);
        const temp = join(dirname(t.paths[s]), tempName(basename(t.paths[s])));
        const half = channels.map((c) => c.map((x) => x / 2));
        await writeAudioFile(temp, half, { format: 'wav', bitDepth: '32f', sampleRate, channels: channels.length });
        await rename(temp, t.paths[s]);
      }
    };
    const r = await t.service.exportStems({
      jobId: t.job.id,
      sources: SOURCES,
      folder: join(t.dir, 'out'),
      format: 'wav',
      bitDepth: '32f',
    });
    assert.equal(afterOpen, null, 'the re-render landed');
    for (const [k, s] of SOURCES.entries())
      assert.deepEqual((await decodeFile(r.files[k])).channels, (await decodeFile(t.paths[s])).channels, s);
    await t.done();
  });

  test('stop at a stem damaged part-way with its file and reason, and leave nothing written', async () => {
    const t = await songOnDisk();
    // The drums as FLAC cut short: its header and first frames read, its end missing.
    const drums = t.paths.drums;
    const planar = (await decodeFile(drums)).channels;
    await writeAudioFile(drums, planar, { format: 'flac', bitDepth: 24, sampleRate: RATE, channels: 2 });
    await truncate(drums, Math.round((await stat(drums)).size * 0.7));
    const folder = join(t.dir, 'out');
    const fails = (e: { code: string; message: string; file?: string }) => {
      assert.equal(e.code, 'TRUNCATED', e.message);
      assert.equal(e.file, drums);
      assert.ok(e.message.startsWith(`${drums}: `), e.message);
      return true;
    };
    const gains = GAINS;
    await assert.rejects(
      t.service.exportMix({ jobId: t.job.id, gains, folder, name: 'm', format: 'flac', bitDepth: 16 }),
      fails,
    );
    await assert.rejects(
      t.service.exportStems({ jobId: t.job.id, sources: ['drums'], folder, format: 'wav', bitDepth: 24 }),
      fails,
    );
    // The vocals are written whole before the drums fail: they go too.
    assert.equal(SOURCES[0], 'vocals');
    await assert.rejects(
      t.service.exportStems({ jobId: t.job.id, sources: SOURCES, folder, format: 'wav', bitDepth: 24 }),
      fails,
    );
    assert.deepEqual(await readdir(folder), [], 'no file, whole or partial, and no temporary one');
    // A file the export was told to replace stays replaced (whole); the files it added go.
    const vocals = join(folder, 'a - vocals.wav');
    await writeFile(vocals, 'the old vocals');
    await assert.rejects(
      t.service.exportStems({
        jobId: t.job.id,
        sources: SOURCES,
        folder,
        format: 'wav',
        bitDepth: 24,
        overwrite: true,
      }),
      fails,
    );
    assert.deepEqual(await readdir(folder), ['a - vocals.wav']);
    assert.equal((await decodeFile(vocals)).channels[0].length, FRAMES);
    await t.done();
  });
});

describe('exports followed and stopped by their id', () => {
  const KINDS = ['stems', 'mix', 'stem-file'] as const;
  type Kind = (typeof KINDS)[number];
  function start(t: Awaited<ReturnType<typeof songOnDisk>>, kind: Kind, folder: string, exportId: string) {
    const common = { jobId: t.job.id, folder, exportId };
    if (kind === 'stems') return t.service.exportStems({ ...common, sources: SOURCES, format: 'flac', bitDepth: 24 });
    if (kind === 'mix') return t.service.exportMix({ ...common, gains: GAINS, name: 'm', format: 'wav', bitDepth: 16 });
    return t.service.exportStemFile({ ...common, codec: 'alac', bitDepth: 16 });
  }

  test('tell how far they are, from above 0 up to 1, never going back', async () => {
    const t = await songOnDisk({ uniform: true });
    for (const kind of KINDS) {
      const seen: number[] = [];
      const off = t.service.onEvent((e) => {
        if (e.type === 'export-progress' && e.exportId === `whole-${kind}`) seen.push(e.fraction);
      });
      await start(t, kind, join(t.dir, `whole-${kind}`), `whole-${kind}`);
      off();
      // A block of the writer (2^18 frames) at a time: the mix of this 300,000-frame song has two.
      assert.ok(seen.length >= 2, `${kind}: progress ${seen.join(' ')}`);
      assert.ok(seen[0] > 0 && seen[0] < 1, `${kind}: ${seen.join(' ')}`);
      assert.ok(seen.at(-1)! > 0.9, `${kind}: ${seen.join(' ')}`);
      assert.ok(
        seen.every((f, i) => f <= 1 && (i === 0 || f > seen[i - 1])),
        `${kind}: ${seen.join(' ')}`,
      );
    }
    assert.equal(await t.service.cancelExport('whole-mix'), false, 'an export that ended is not running');
    await t.done();
  });

  test('cancelled while they write, fail with CANCELLED naming the file and leave nothing', async () => {
    const t = await songOnDisk({ uniform: true });
    for (const kind of KINDS) {
      const folder = join(t.dir, `cancelled-${kind}`);
      let answered: Promise<boolean> | null = null;
      // The stems export is stopped in its second stem: the first, written whole, goes too.
      const late = kind === 'stems' ? 0.3 : 0;
      const off = t.service.onEvent((e) => {
        if (e.type === 'export-progress' && e.exportId === kind && e.fraction > late && !answered)
          answered = t.service.cancelExport(kind);
      });
      await assert.rejects(start(t, kind, folder, kind), (e: { code: string; message: string }) => {
        assert.equal(e.code, 'CANCELLED', `${kind}: ${e.message}`);
        assert.match(e.message, /^\/.*: the export was cancelled; nothing was written$/, e.message);
        return true;
      });
      off();
      assert.equal(await answered, true, `${kind}: the export was running when it was cancelled`);
      assert.deepEqual(await readdir(folder), [], `${kind}: no file, whole or partial`);
    }
    // Its id is free again.
    await start(t, 'mix', join(t.dir, 'again'), 'mix');
    await t.done();
  });

  test('cancelled as soon as they are asked for, before anything is read, write nothing', async () => {
    const t = await songOnDisk({ uniform: true });
    for (const kind of KINDS) {
      const folder = join(t.dir, `at-once-${kind}`);
      const running = start(t, kind, folder, `at-once-${kind}`);
      assert.equal(await t.service.cancelExport(`at-once-${kind}`), true, kind);
      await assert.rejects(running, { code: 'CANCELLED' });
      assert.deepEqual(existsSync(folder) ? await readdir(folder) : [], [], kind);
    }
    await t.done();
  });

  test('an id already running is refused', async () => {
    const t = await songOnDisk();
    let second: Promise<unknown> | null = null;
    const off = t.service.onEvent((e) => {
      if (e.type === 'export-progress' && !second)
        second = start(t, 'mix', join(t.dir, 'b'), 'same').then(
          () => 'written',
          (err: unknown) => err,
        );
    });
    await start(t, 'stems', join(t.dir, 'a'), 'same');
    off();
    assert.ok(second, 'the first export told its progress');
    const refused = (await second) as { code?: string; message?: string };
    assert.deepEqual([refused.code, refused.message], ['BAD_ARGUMENT', 'an export same is already running']);
    await t.done();
  });
});

/**
 * The in-memory codecs, counting what the decoders have given out and the writers taken: the frames of stems an
 * export holds are those given out and not yet written (a written frame uses `feeding` frames of stems).
 */
function countingAudio(audio: MemoryAudio) {
  const c = {
    feeding: 1,
    given: 0,
    written: 0,
    mostHeld: 0,
    reset(feeding: number) {
      Object.assign(c, { feeding, given: 0, written: 0, mostHeld: 0 });
    },
    port: null as unknown as AudioPort,
  };
  const take = (n: number) => {
    c.given += n;
    c.mostHeld = Math.max(c.mostHeld, c.given - c.feeding * c.written);
  };
  c.port = {
    decodeFile: (path) => {
      const a = audio.decodeFile(path);
      take(a.channels[0].length);
      return a;
    },
    decodeStream: async (path) => {
      const s = await audio.decodeStream(path);
      async function* pieces() {
        for await (const p of s.pieces) {
          take(p[0].length);
          yield p;
        }
      }
      return { ...s, pieces: pieces() };
    },
    createStemWriter: (path, o) => {
      const w = audio.createStemWriter(path, o);
      return {
        ...w,
        write: (planar: Float32Array[]) => {
          c.written += planar[0].length;
          return w.write(planar);
        },
      };
    },
    stemFileFromStemFiles: (...a) => audio.stemFileFromStemFiles(...a),
  };
  return c;
}
