// What the stems and mix exports write, read from the stem files a piece at a time (engine/audio/stem-reader.ts) so
// that a two-hour song holds no more than a short one: each stem cut to the region, stretched to the tempo and key,
// the stems mixed with their gains, handed out in blocks of WRITE_FRAMES. They are the blocks the writer would get of
// stems cut, stretched and mixed whole and written WRITE_FRAMES at a time, so the file is the same to the byte: the
// stretcher is fed whole blocks (STRETCH_CALL_FRAMES says why that matters), and a block of the mix is mixStems of the
// stems' blocks.
import {
  asXumxError,
  closeStems,
  cutPieces,
  inBlocks,
  isBypassed,
  openStems,
  readFraction,
  regionFrames,
  StemReader,
  STRETCH_CALL_FRAMES,
  stretchedLength,
  TimePitchStream,
  XumxError,
  type AudioTags,
  type StemStream,
  type TimePitch,
} from '../engine/index.ts';
import type { ExportRegion } from './contract.ts';
import { mixStems } from './mix.ts';
import type { StemWriterPort } from './ports.ts';

/** Frames the writer is given at a time (a multiple of STRETCH_CALL_FRAMES); about 2 MB of a stereo stem. */
export const WRITE_FRAMES = 128 * STRETCH_CALL_FRAMES;

type Planar = Float32Array[];

/** An export's audio, ready to be written; close() it whether or not its blocks were read to the end. */
export interface ExportAudio {
  sampleRate: number;
  /** Channels of every block. */
  channels: number;
  /** The tags of the (first) stem file. */
  tags: AudioTags;
  /** WRITE_FRAMES frames a block, the last one shorter. A stem that cannot be read throws its error, naming it. */
  blocks: AsyncIterable<Planar>;
  /** How far its stems have been read, 0 to 1. */
  read(): number;
  /** Closes the stem files. */
  close(): Promise<void>;
}

/** What the caller of an export can do while it runs: stop it, and hear how far it is. */
export interface ExportRun {
  /** Aborted: the export stops with CANCELLED at the next block, writing nothing. */
  signal?: AbortSignal;
  /** How far the export is, 0 to 1, after each block. */
  progress?(fraction: number): void;
}

export interface ExportShape {
  /** Absent: the whole song. */
  region?: ExportRegion;
  /** Absent or bypassed: the stems' own samples. */
  timePitch?: TimePitch;
}

export type DecodeStem = (path: string, opts: { tags: boolean }) => Promise<StemStream>;

/**
 * The stem files as a stems export writes them, one ExportAudio each, opened together as one render's stems (a
 * re-render that lands meanwhile is not mixed in); each is closed as it is written, close() them all on a failure.
 */
export async function stemExports(
  paths: string[],
  shape: ExportShape,
  decode: DecodeStem,
  signal?: AbortSignal,
): Promise<ExportAudio[]> {
  const readers = await openStems(paths, (p) => decode(p, { tags: true }), signal ? { signal } : {});
  return readers.map((reader) => ({
    sampleRate: reader.sampleRate,
    channels: reader.channels,
    tags: reader.tags ?? {},
    blocks: shaped(reader, shape, true),
    read: () => readFraction([reader], regionFrames(shape.region, reader.sampleRate).to),
    close: () => reader.close(),
  }));
}

/**
 * The stem files mixed with their gains. Each stem is stretched before it is mixed, as the player stretches each stem
 * before its fader: stretching the sum would sound different (the stretcher is not linear). A stem at gain 0 is not
 * heard, but its length counts, as in mixStems. The tags are the first stem's.
 */
export async function mixExport(
  paths: string[],
  gains: number[],
  shape: ExportShape,
  decode: DecodeStem,
  signal?: AbortSignal,
): Promise<ExportAudio> {
  if (paths.length === 0) throw new Error('mixStems needs at least one stem');
  const readers = await openStems(paths, (p, k) => decode(p, { tags: k === 0 }), signal ? { signal } : {});
  const [first] = readers;
  const other = readers.find((r) => r.sampleRate !== first.sampleRate);
  if (other) {
    await closeStems(readers);
    throw new XumxError(
      'FILE_UNREADABLE',
      `${other.path}: the stem is at ${other.sampleRate} Hz, ${first.path} at ${first.sampleRate} Hz; ` +
        'the stems of a song share one rate',
      other.path,
    );
  }
  return {
    sampleRate: first.sampleRate,
    channels: Math.max(...readers.map((r) => r.channels)),
    tags: first.tags ?? {},
    blocks: mixed(
      readers.map((r, k) => ({ reader: r, blocks: shaped(r, shape, gains[k] !== 0) })),
      gains,
    ),
    read: () => readFraction(readers, regionFrames(shape.region, first.sampleRate).to),
    close: () => closeStems(readers),
  };
}

/**
 * Writes an export's blocks as they come into the writer `open` makes, then closes it, so the file is there whole or
 * not at all: a failure or a cancel (`run.signal`) aborts the writer (which removes what it wrote) and is thrown,
 * naming `out` where it names no file of its own. The stems are closed either way. Gives back the closed writer (its
 * notices).
 */
export async function writeExport<W extends StemWriterPort>(
  audio: ExportAudio,
  out: string,
  open: () => Promise<W> | W,
  run: ExportRun = {},
): Promise<W> {
  const stopped = () => {
    if (run.signal?.aborted)
      throw new XumxError('CANCELLED', `${out}: the export was cancelled; nothing was written`, out);
  };
  try {
    stopped();
    const writer = await open();
    try {
      for await (const block of audio.blocks) {
        stopped();
        await writer.write(block);
        run.progress?.(audio.read());
      }
      stopped();
      await writer.close();
    } catch (e) {
      await writer.abort();
      throw asXumxError(e, out);
    }
    return writer;
  } finally {
    await audio.close();
  }
}

/** A stem's frames as an export takes them: its region, at the tempo and key (`heard` false: silence as long). */
function shaped(reader: StemReader, shape: ExportShape, heard: boolean): AsyncIterable<Planar> {
  const { from, to } = regionFrames(shape.region, reader.sampleRate);
  const cut = inBlocks(cutPieces(reader.pieces(), from, to), WRITE_FRAMES);
  const tp = shape.timePitch && !isBypassed(shape.timePitch) ? shape.timePitch : null;
  if (!tp) return cut;
  const out = heard ? stretched(cut, reader.channels, reader.sampleRate, tp) : silence(cut, reader.channels, tp.tempo);
  return inBlocks(out, WRITE_FRAMES);
}

/** Block by block, mixStems of the stems' blocks; a stem that has ended adds nothing to the blocks after it. */
async function* mixed(
  stems: { reader: StemReader; blocks: AsyncIterable<Planar> }[],
  gains: number[],
): AsyncGenerator<Planar> {
  const iterators = stems.map((s) => s.blocks[Symbol.asyncIterator]());
  const ended = stems.map(() => false);
  try {
    for (;;) {
      const blocks = [];
      for (const [k, { reader }] of stems.entries()) {
        const next = ended[k] ? null : await iterators[k].next();
        if (!next || next.done) ended[k] = true;
        const channels = next && !next.done ? next.value : silent(reader.channels, 0);
        blocks.push({ sampleRate: reader.sampleRate, channels });
      }
      if (ended.every(Boolean)) return;
      yield mixStems(blocks, gains).channels;
    }
  } finally {
    // Stopped early (a stem failed, or the writer): the other stems' stages are left too.
    await Promise.all(iterators.map((it) => it.return?.().catch(() => {})));
  }
}

/** The blocks at the tempo and key; whole multiples of STRETCH_CALL_FRAMES in, so the samples are renderTimePitch's. */
async function* stretched(
  blocks: AsyncIterable<Planar>,
  channels: number,
  sampleRate: number,
  tp: TimePitch,
): AsyncGenerator<Planar> {
  const stream = await TimePitchStream.create(channels, sampleRate, tp);
  for await (const block of blocks) {
    const out = stream.process(block);
    if (out[0]?.length) yield out;
  }
  const tail = stream.finish();
  if (tail[0]?.length) yield tail;
}

/** Silence as long as the blocks would be at `tempo`. */
async function* silence(blocks: AsyncIterable<Planar>, channels: number, tempo: number): AsyncGenerator<Planar> {
  let fed = 0;
  let given = 0;
  for await (const block of blocks) {
    fed += block[0]?.length ?? 0;
    const n = stretchedLength(fed, tempo) - given;
    given += n;
    if (n > 0) yield silent(channels, n);
  }
}

function silent(channels: number, frames: number): Planar {
  return Array.from({ length: channels }, () => new Float32Array(frames));
}
