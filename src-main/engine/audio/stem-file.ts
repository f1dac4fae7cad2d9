// Native Instruments stem files (`.stem.mp4`), which DJ software (Traktor, Mixxx, …) loads as four decks in one:
// five stereo audio tracks in one MP4 — the mix first (what ordinary players play), then the stems in
// STEM_FILE_STEMS order — and a JSON manifest in moov/udta/stem. Tracks are encoded and muxed by libav (libav.ts);
// the manifest and the song's tags are written into the index afterwards. Written like every output: to a hidden
// temporary file, renamed into place only when complete; a failure or a cancel leaves nothing.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { createResampler } from '../dsp/resample.ts';
import { XumxError } from '../errors.ts';
import { tempPathFor } from '../temp-files.ts';
import { AAC_SAMPLE_RATES } from './adts-frames.ts';
import { audioError } from './audio-error.ts';
import { storableRate } from './sample-rates.ts';
import { decodeStream } from './decode.ts';
import { regionFrames } from './cut-region.ts';
import { cutPieces, inBlocks } from './pieces.ts';
import { closeStems, openStems, readFraction, type StemStream } from './stem-reader.ts';
import { createMp4TrackEncoder, type Mp4TrackEncoder } from './libav.ts';
import { mp4Box, replaceUserData } from './mp4-boxes.ts';
import { STEM_FILE_STEMS, stemManifest, type StemFileCodec } from './stem-file-layout.ts';
import { isFileSystemError } from './stem-writer.ts';
import { outputError } from '../output-error.ts';
import { itunesTags } from './tag-writers.ts';
import { hasTags, mixTags, type AudioTags } from './tags.ts';
import type { PcmAudio } from '../types.ts';

export interface StemFileOptions {
  sampleRate: number;
  codec: StemFileCodec;
  /** The song's tags (its own title, not a stem's). */
  tags?: AudioTags;
  /** The calling thread's DSP kernels for ALAC's integer samples; absent: the JavaScript reference. */
  kernels?: DspKernels;
}

export interface StemFileWriter {
  /** Appends frames: the mix and the four stems in STEM_FILE_STEMS order, each [left, right], all the same length. */
  write(mix: Float32Array[], stems: Float32Array[][]): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
  /** Clipping the integer (ALAC) tracks needed, once closed. */
  readonly notices: string[];
}

export async function createStemFileWriter(path: string, o: StemFileOptions): Promise<StemFileWriter> {
  const temp = tempPathFor(path);
  let fd: number;
  try {
    fd = openSync(temp, 'wx+');
  } catch (err) {
    throw outputError(err, path);
  }
  let failure: unknown = null;
  let encoder: Mp4TrackEncoder;
  try {
    encoder = await createMp4TrackEncoder({
      tracks: 5,
      channels: 2,
      sampleRate: o.sampleRate,
      codec: o.codec,
      kernels: o.kernels,
      // libav writes synchronously from inside its calls; a failed write is kept and reported after the call.
      write: (position, bytes) => {
        if (failure) return;
        try {
          for (let done = 0; done < bytes.length;)
            done += writeSync(fd, bytes, done, bytes.length - done, position + done);
        } catch (err) {
          failure = err;
        }
      },
    });
  } catch (err) {
    closeSync(fd);
    unlinkSafe(temp);
    throw audioError('ENCODE_FAILED', path, `cannot start the stem file's encoders: ${(err as Error).message}`, err);
  }
  let state: 'open' | 'closed' | 'aborted' = 'open';
  const notices: string[] = [];

  const discard = async () => {
    if (state === 'aborted') return;
    state = 'aborted';
    await encoder.free().catch(() => undefined);
    try {
      closeSync(fd);
    } catch {
      /* already closed */
    }
    unlinkSafe(temp);
  };
  const guard = async (step: () => Promise<void>) => {
    if (state !== 'open') throw audioError('INTERNAL', path, `the stem file writer is already ${state}`);
    try {
      await step();
      if (failure) throw failure;
    } catch (err) {
      await discard();
      throw isFileSystemError(err)
        ? outputError(err, path)
        : err instanceof XumxError
          ? err
          : audioError(
              'ENCODE_FAILED',
              path,
              `cannot encode the stem file: ${(err as Error)?.message ?? String(err)}`,
              err,
            );
    }
  };

  return {
    notices,
    write: (mix, stems) =>
      guard(async () => {
        const tracks = [mix, ...stems];
        if (tracks.length !== 5 || tracks.some((t) => t.length !== 2 || t.some((c) => c.length !== mix[0].length))) {
          throw audioError(
            'BAD_ARGUMENT',
            path,
            'a stem file takes the mix and four stems, each stereo and of the same length',
          );
        }
        await encoder.encode(tracks);
      }),
    close: () =>
      guard(async () => {
        await encoder.finish();
        await encoder.free();
        if (failure) throw failure;
        if (encoder.clipped > 0) notices.push(`clipped ${encoder.clipped} samples beyond full scale in the stem file`);
        const udta = mp4Box(
          'udta',
          mp4Box('stem', Buffer.from(stemManifest(), 'utf8')),
          ...(hasTags(o.tags) ? [itunesTags(o.tags)] : []),
        );
        rewriteIndex(fd, path, udta);
        fsyncSync(fd);
        closeSync(fd);
        renameSync(temp, path);
        state = 'closed';
      }),
    abort: discard,
  };
}

/**
 * Replaces the index's user data with `udta` (the manifest and the tags). The muxer ends the file with its index
 * (moov), so the new one goes where the old one was and no sample offset moves. DJ software looks in moov's first
 * udta, and this is the only one.
 */
function rewriteIndex(fd: number, path: string, udta: Uint8Array): void {
  const size = fstatSync(fd).size;
  let moovAt = -1;
  let moovSize = 0;
  // Walk the top-level boxes by their headers only; the media data is never read.
  for (let at = 0; at + 8 <= size;) {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, at);
    let boxSize = head.readUInt32BE(0);
    if (boxSize === 1) boxSize = Number(head.readBigUInt64BE(8));
    if (boxSize < 8) break;
    if (head.toString('latin1', 4, 8) === 'moov') {
      moovAt = at;
      moovSize = boxSize;
    }
    at += boxSize;
  }
  if (moovAt < 0 || moovAt + moovSize !== size)
    throw audioError('ENCODE_FAILED', path, 'the muxer did not end the file with its index (moov)');
  const moov = Buffer.alloc(moovSize);
  readSync(fd, moov, 0, moovSize, moovAt);
  const next = replaceUserData(moov, udta);
  for (let done = 0; done < next.length;) done += writeSync(fd, next, done, next.length - done, moovAt + done);
  ftruncateSync(fd, moovAt + next.length);
}

function unlinkSafe(p: string): void {
  try {
    unlinkSync(p);
  } catch {
    /* gone already */
  }
}

/** Audio the stem file is made from: one stereo stem per source at one rate. */
export type StemAudio = PcmAudio;

/** A stem as the stem file reads it: its rate, its channels, its length where known, and its frames in order. */
interface StemPieces {
  sampleRate: number;
  channels: number;
  /** Frames, where known before reading; a stem that ends before or after the others is refused as it ends. */
  frames?: number;
  pieces: AsyncIterable<Float32Array[]>;
  /** The stem's file, which an error about the stem names; absent: the error names the stem file. */
  file?: string;
}

type StemFileWrite = { codec: StemFileCodec; tags?: AudioTags; signal?: AbortSignal; kernels?: DspKernels };

const CHUNK_FRAMES = 1 << 16;
const OTHER = STEM_FILE_STEMS.findIndex((s) => s.source === 'other');

/**
 * Writes a stem file from separated stems (bass, drums, other, vocals; a residual stem, when there is one, joins
 * "other" so the four still add up to the song). The mix track is the sum of the stems, which is the song.
 * Returns the notices worth telling the user. An aborted `signal` stops it between chunks, leaving nothing.
 */
export function writeStemFile(path: string, stems: Record<string, StemAudio>, o: StemFileWrite): Promise<string[]> {
  const whole = Object.entries(stems).map(([source, s]): [string, StemPieces] => [
    source,
    {
      sampleRate: s.sampleRate,
      channels: s.channels.length,
      frames: s.channels[0]?.length ?? 0,
      pieces: (async function* () {
        yield s.channels;
      })(),
    },
  ]);
  return writeStemFileFrom(path, Object.fromEntries(whole), o);
}

/**
 * writeStemFile from stems read a piece at a time: the encoders get the chunks they would get of whole stems, and
 * about a chunk of each stem is held at once, however long the song.
 */
async function writeStemFileFrom(path: string, stems: Record<string, StemPieces>, o: StemFileWrite): Promise<string[]> {
  const missing = STEM_FILE_STEMS.filter((s) => !stems[s.source]).map((s) => s.source);
  if (missing.length)
    throw audioError(
      'BAD_ARGUMENT',
      path,
      `a stem file needs drums, bass, other and vocals; this separation has no ${missing.join(', ')}`,
    );
  const { sampleRate } = Object.values(stems)[0];
  refuseUnequal(path, stems);
  const extra = Object.keys(stems).filter((k) => !STEM_FILE_STEMS.some((s) => s.source === k));
  const notices = extra.length ? [`a stem file holds four stems: ${extra.join(', ')} went into "other"`] : [];
  let rate = sampleRate;
  // Frames read of each stem, before any resampling: resampled to a lower rate, stems a frame apart can come out
  // the same length, so it is these that must agree at the end.
  const read: Record<string, number> = {};
  let pieces = Object.fromEntries(Object.entries(stems).map(([k, s]) => [k, counted(s.pieces, read, k)]));
  if (o.codec.name === 'aac' && !AAC_SAMPLE_RATES.includes(sampleRate)) {
    rate = storableRate(sampleRate, AAC_SAMPLE_RATES);
    // The streaming resampler gives the same samples however its input is cut.
    for (const k of Object.keys(pieces)) pieces[k] = resampled(pieces[k], sampleRate, rate);
    notices.push(`AAC cannot store ${sampleRate} Hz: the stem file is at ${rate} Hz`);
  }
  const chunks = Object.fromEntries(
    Object.entries(pieces).map(([k, p]) => [k, inBlocks(p, CHUNK_FRAMES)[Symbol.asyncIterator]()]),
  );
  const writer = await createStemFileWriter(path, {
    sampleRate: rate,
    codec: o.codec,
    tags: o.tags,
    kernels: o.kernels,
  });
  try {
    // Frames of each stem written so far (at the stem file's rate).
    let at = 0;
    for (;;) {
      const next: Record<string, Float32Array[] | null> = {};
      for (const [k, it] of Object.entries(chunks)) {
        const r = await it.next();
        next[k] = r.done ? null : r.value;
      }
      const parts = Object.values(next);
      if (parts.every((p) => p === null)) {
        const lengths = odd(read);
        if (lengths) throw unequalLengths(path, stems, lengths, read);
        break;
      }
      const n = parts[0]?.[0].length;
      if (parts.some((p) => p?.[0].length !== n)) {
        // A chunk shorter than the others (or none) is a stem's last: it ends there, the others go on.
        const upTo = Object.fromEntries(Object.entries(next).map(([k, p]) => [k, at + (p?.[0].length ?? 0)]));
        const [k, other] = odd(upTo)!;
        const how =
          upTo[k] < upTo[other]
            ? `the ${k} stem ends after ${upTo[k]} frames, the ${other} stem goes on`
            : `the ${k} stem goes on past ${upTo[other]} frames, where the ${other} stem ends`;
        throw audioError('BAD_ARGUMENT', stems[k].file ?? path, `${how}; the stems of a stem file are one length`);
      }
      at += n!;
      if (o.signal?.aborted) throw new XumxError('CANCELLED', `${path}: cancelled`, path);
      const four = STEM_FILE_STEMS.map((s) => next[s.source]!.map((c) => c.slice()));
      for (const name of extra)
        next[name]!.forEach((c, ch) => {
          for (let i = 0; i < c.length; i++) four[OTHER][ch][i] += c[i];
        });
      const mix = [0, 1].map((ch) => {
        const m = new Float32Array(n!);
        for (const s of four) for (let i = 0; i < m.length; i++) m[i] += s[ch][i];
        return m;
      });
      await writer.write(mix, four);
    }
    if (o.signal?.aborted) throw new XumxError('CANCELLED', `${path}: cancelled`, path);
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  } finally {
    await Promise.all(Object.values(chunks).map((it) => it.return(undefined).catch(() => {})));
  }
  return [...notices, ...writer.notices];
}

/**
 * Refuses stems that cannot make one stem file (not all stereo, at one rate, of one length where known), naming the
 * stem that differs from the others and its file.
 */
function refuseUnequal(path: string, stems: Record<string, StemPieces>): void {
  const entries = Object.entries(stems);
  const mono = entries.find(([, s]) => s.channels !== 2);
  if (mono)
    throw audioError(
      'BAD_ARGUMENT',
      mono[1].file ?? path,
      `the ${mono[0]} stem has ${mono[1].channels} channel${mono[1].channels === 1 ? '' : 's'}; a stem file takes stereo stems`,
    );
  const rates = odd(Object.fromEntries(entries.map(([k, s]) => [k, s.sampleRate])));
  if (rates) {
    const [k, other] = rates;
    throw audioError(
      'BAD_ARGUMENT',
      stems[k].file ?? path,
      `the ${k} stem is at ${stems[k].sampleRate} Hz, the ${other} stem at ${stems[other].sampleRate} Hz; ` +
        'the stems of a stem file share one rate',
    );
  }
  const known = entries.filter(([, s]) => s.frames !== undefined).map(([k, s]) => [k, s.frames!] as const);
  const lengths = odd(Object.fromEntries(known));
  if (lengths) throw unequalLengths(path, stems, lengths, Object.fromEntries(known));
}

function unequalLengths(
  path: string,
  stems: Record<string, StemPieces>,
  [k, other]: [string, string],
  frames: Record<string, number>,
): XumxError {
  return audioError(
    'BAD_ARGUMENT',
    stems[k].file ?? path,
    `the ${k} stem has ${frames[k]} frames, the ${other} stem ${frames[other]}; the stems of a stem file are one length`,
  );
}

/**
 * Where the values are not all equal: the key of one that differs from the most common value, and the key of one
 * that has it (the first of each); null when they are all equal.
 */
function odd<T>(values: Record<string, T>): [string, string] | null {
  const counts = new Map<T, number>();
  for (const v of Object.values(values)) counts.set(v, (counts.get(v) ?? 0) + 1);
  if (counts.size < 2) return null;
  const common = [...counts].sort((a, b) => b[1] - a[1])[0][0];
  const keys = Object.keys(values);
  return [keys.find((k) => values[k] !== common)!, keys.find((k) => values[k] === common)!];
}

/** The pieces, their frames added up in `read[key]` as they go by. */
async function* counted(
  pieces: AsyncIterable<Float32Array[]>,
  read: Record<string, number>,
  key: string,
): AsyncGenerator<Float32Array[]> {
  read[key] = 0;
  for await (const p of pieces) {
    read[key] += p[0]?.length ?? 0;
    yield p;
  }
}

async function* resampled(
  pieces: AsyncIterable<Float32Array[]>,
  from: number,
  to: number,
): AsyncGenerator<Float32Array[]> {
  const resampler = await createResampler(from, to, 2);
  try {
    for await (const p of pieces) {
      const out = resampler.process(p);
      if (out[0].length) yield out;
    }
    const tail = resampler.flush();
    if (tail[0].length) yield tail;
  } finally {
    resampler.destroy();
  }
}

/**
 * The stem file of a separated song, from its stem files as the engine wrote them: what every door calls. The
 * song's tags come from the stems (which carry them under their own titles) with the song's title. With a `region`,
 * only those seconds of the song. The stem files are read a piece at a time, in step.
 */
export async function stemFileFromStemFiles(
  stemFiles: Record<string, string>,
  path: string,
  o: {
    codec: StemFileCodec;
    songTitle?: string;
    signal?: AbortSignal;
    /** How far the stems have been read, 0 to 1, after each piece. */
    onProgress?: (fraction: number) => void;
    region?: { start: number; end: number };
    /** The calling thread's DSP kernels, for ALAC's integer samples; absent: the JavaScript reference. */
    kernels?: DspKernels;
    /** Reads the stem files; default decodeStream (a test counts what it gives out). */
    decode?: (path: string, opts: { tags: boolean }) => Promise<StemStream>;
  },
): Promise<string[]> {
  const sources = Object.keys(stemFiles);
  const decode = o.decode ?? decodeStream;
  const readers = await openStems(
    sources.map((s) => stemFiles[s]),
    (file, k) => decode(file, { tags: k === 0 }),
    o.signal ? { signal: o.signal } : {},
  );
  async function* told(pieces: AsyncIterable<Float32Array[]>, to: number) {
    for await (const p of pieces) {
      yield p;
      o.onProgress!(readFraction(readers, to));
    }
  }
  try {
    const stems = sources.map((source, k): [string, StemPieces] => {
      const r = readers[k];
      const { from, to } = regionFrames(o.region, r.sampleRate);
      const frames =
        r.frames === undefined ? undefined : Math.max(0, Math.min(to, r.frames) - Math.min(from, r.frames));
      const pieces = cutPieces(r.pieces(), from, to);
      return [
        source,
        {
          sampleRate: r.sampleRate,
          channels: r.channels,
          frames,
          pieces: o.onProgress ? told(pieces, to) : pieces,
          file: r.path,
        },
      ];
    });
    const tags = mixTags(readers[0]?.tags ?? {}, o.songTitle);
    return await writeStemFileFrom(path, Object.fromEntries(stems), {
      codec: o.codec,
      tags,
      signal: o.signal,
      kernels: o.kernels,
    });
  } finally {
    await closeStems(readers);
  }
}
