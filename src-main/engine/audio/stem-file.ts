// Native Instruments stem files (`.stem.mp4`), which DJ software (Traktor, Mixxx, …) loads as four decks in one:
// five stereo audio tracks in one MP4 — the mix first (what ordinary players play), then drums, bass, other and
// vocals — and a JSON manifest in moov/udta/stem naming each stem with its colour. AAC or ALAC, encoded and muxed
// by libav (libav.ts); the manifest and the song's tags (udta/meta/ilst) are written into the index here. Written
// like every output: to a hidden temporary file, renamed into place only when complete.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, renameSync, unlinkSync, writeSync, ftruncateSync, fstatSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { XumxError } from '../errors.ts';
import { audioError } from './audio-error.ts';
import { resample } from '../dsp/resample.ts';
import { createMp4TrackEncoder, type Mp4TrackEncoder } from './libav.ts';
import { boxes } from './mp4-boxes.ts';
import { isFileSystemError, outputError } from './stem-writer.ts';
import { hasTags, type AudioTags } from './tags.ts';

/** The stems of a stem file in the order DJ software expects them, with the names and colours it shows. */
export const STEM_FILE_STEMS = [
  { source: 'drums', name: 'Drums', color: '#009E73' },
  { source: 'bass', name: 'Bass', color: '#D55E00' },
  { source: 'other', name: 'Other', color: '#CC79A7' },
  { source: 'vocals', name: 'Vocals', color: '#56B4E9' },
] as const;

export type StemFileCodec = { name: 'aac'; bitRate: number } | { name: 'alac'; bitDepth: 16 | 24 };

export const STEM_FILE_AAC: StemFileCodec = { name: 'aac', bitRate: 256_000 };

export interface StemFileOptions {
  sampleRate: number;
  codec: StemFileCodec;
  /** The song's tags (its own title, not a stem's). */
  tags?: AudioTags;
}

export interface StemFileWriter {
  /** Appends frames: the mix and the four stems in STEM_FILE_STEMS order, each [left, right], all the same length. */
  write(mix: Float32Array[], stems: Float32Array[][]): Promise<void>;
  close(): Promise<void>;
  abort(): Promise<void>;
}

export async function createStemFileWriter(path: string, o: StemFileOptions): Promise<StemFileWriter> {
  const temp = join(dirname(path), `.${basename(path)}.partial-${randomBytes(6).toString('hex')}`);
  let fd: number;
  try {
    fd = openSync(temp, 'wx+');
  } catch (err) {
    throw outputError(path, err);
  }
  let failure: unknown = null;
  let encoder: Mp4TrackEncoder;
  try {
    encoder = await createMp4TrackEncoder({
      tracks: 5, channels: 2, sampleRate: o.sampleRate, codec: o.codec,
      // libav writes synchronously from inside its calls; a failed write is kept and reported after the call.
      write: (position, bytes) => {
        if (failure) return;
        try {
          for (let done = 0; done < bytes.length;) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
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

  const discard = async () => {
    if (state === 'aborted') return;
    state = 'aborted';
    await encoder.free().catch(() => undefined);
    try { closeSync(fd); } catch { /* already closed */ }
    unlinkSafe(temp);
  };
  const guard = async (step: () => Promise<void>) => {
    if (state !== 'open') throw audioError('INTERNAL', path, `the stem file writer is already ${state}`);
    try {
      await step();
      if (failure) throw failure;
    } catch (err) {
      await discard();
      throw isFileSystemError(err) ? outputError(path, err)
        : err instanceof XumxError ? err : audioError('ENCODE_FAILED', path, `cannot encode the stem file: ${(err as Error)?.message ?? String(err)}`, err);
    }
  };

  return {
    write: (mix, stems) => guard(async () => {
      const tracks = [mix, ...stems];
      if (tracks.length !== 5 || tracks.some((t) => t.length !== 2 || t.some((c) => c.length !== mix[0].length))) {
        throw audioError('BAD_ARGUMENT', path, 'a stem file takes the mix and four stems, each stereo and of the same length');
      }
      await encoder.encode(tracks);
    }),
    close: () => guard(async () => {
      await encoder.finish();
      await encoder.free();
      if (failure) throw failure;
      writeIndexExtras(fd, path, stemManifest(), o.tags);
      fsyncSync(fd);
      closeSync(fd);
      renameSync(temp, path);
      state = 'closed';
    }),
    abort: discard,
  };
}

/** The JSON manifest DJ software reads: version, the stems' names and colours, and no mastering effects. */
export function stemManifest(): string {
  return JSON.stringify({
    version: 1,
    stems: STEM_FILE_STEMS.map((s) => ({ name: s.name, color: s.color })),
    mastering_dsp: { compressor: { enabled: false }, limiter: { enabled: false } },
  });
}

/**
 * Rewrites the index (moov, the file's last box, so no sample offset moves) with one udta holding the stem
 * manifest and the tags in place of whatever udta the muxer wrote. DJ software looks in moov's first udta.
 */
function writeIndexExtras(fd: number, path: string, manifest: string, tags: AudioTags | undefined): void {
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
    if (head.toString('latin1', 4, 8) === 'moov') { moovAt = at; moovSize = boxSize; }
    at += boxSize;
  }
  if (moovAt < 0 || moovAt + moovSize !== size) throw audioError('ENCODE_FAILED', path, 'the muxer did not end the file with its index (moov)');
  const moov = Buffer.alloc(moovSize);
  readSync(fd, moov, 0, moovSize, moovAt);
  const kept = [...boxes(moov, 8, moov.length)].filter((b) => b.type !== 'udta').map((b) => moov.subarray(b.at, b.end));
  const udta = box('udta', box('stem', Buffer.from(manifest, 'utf8')), ...(hasTags(tags) ? [itunesTags(tags)] : []));
  const next = box('moov', ...kept, udta);
  for (let done = 0; done < next.length;) done += writeSync(fd, next, done, next.length - done, moovAt + done);
  ftruncateSync(fd, moovAt + next.length);
}

function box(type: string, ...body: Uint8Array[]): Buffer {
  const payload = Buffer.concat(body);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

/** iTunes-style tags: meta (a full box) → hdlr 'mdir' + ilst with one data box per item. */
function itunesTags(t: AudioTags): Buffer {
  const data = (type: number, value: Uint8Array) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(type, 0); // 1 UTF-8, 0 binary, 13 JPEG, 14 PNG; then 4 bytes of locale
    return box('data', head, value);
  };
  const text = (v: string) => data(1, Buffer.from(v, 'utf8'));
  const items: Buffer[] = [];
  if (t.title) items.push(box('\xa9nam', text(t.title)));
  if (t.artist) items.push(box('\xa9ART', text(t.artist)));
  if (t.album) items.push(box('\xa9alb', text(t.album)));
  if (t.year) items.push(box('\xa9day', text(String(t.year))));
  if (t.track && t.track <= 0xffff) {
    const trkn = Buffer.alloc(8);
    trkn.writeUInt16BE(t.track, 2);
    trkn.writeUInt16BE(t.trackCount && t.trackCount <= 0xffff ? t.trackCount : 0, 4);
    items.push(box('trkn', data(0, trkn)));
  }
  if (t.cover) items.push(box('covr', data(t.cover.mime === 'image/png' ? 14 : 13, t.cover.data)));
  const hdlr = box('hdlr', Buffer.alloc(8), Buffer.from('mdirappl', 'latin1'), Buffer.alloc(9));
  return box('meta', Buffer.alloc(4), hdlr, box('ilst', ...items));
}

function unlinkSafe(p: string): void {
  try { unlinkSync(p); } catch { /* gone already */ }
}

/** Audio the stem file is made from: one stereo stem per source at one rate. */
export interface StemAudio {
  sampleRate: number;
  channels: Float32Array[];
}

const CHUNK_FRAMES = 1 << 16;
/** The sampling rates an AAC stream can declare (ISO 14496-3 sampling_frequency_index). */
const AAC_RATES = new Set([96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]);
const OTHER = STEM_FILE_STEMS.findIndex((s) => s.source === 'other');

/**
 * Writes a stem file from separated stems (bass, drums, other, vocals; a residual stem, when there is one, joins
 * "other" so the four still add up to the song). The mix track is the sum of the stems, which is the song.
 * Returns the notices worth telling the user.
 */
export async function writeStemFile(path: string, stems: Record<string, StemAudio>, o: { codec: StemFileCodec; tags?: AudioTags }): Promise<string[]> {
  const missing = STEM_FILE_STEMS.filter((s) => !stems[s.source]).map((s) => s.source);
  if (missing.length) throw audioError('BAD_ARGUMENT', path, `a stem file needs drums, bass, other and vocals; this model gives no ${missing.join(', ')}`);
  const all = Object.values(stems);
  const { sampleRate } = all[0];
  const frames = all[0].channels[0].length;
  if (all.some((s) => s.sampleRate !== sampleRate || s.channels.length !== 2 || s.channels.some((c) => c.length !== frames))) {
    throw audioError('BAD_ARGUMENT', path, 'the stems differ in rate, channels or length');
  }
  const extra = Object.keys(stems).filter((k) => !STEM_FILE_STEMS.some((s) => s.source === k));
  const notices = extra.length ? [`a stem file holds four stems: ${extra.join(', ')} went into "other"`] : [];
  let rate = sampleRate;
  if (o.codec.name === 'aac' && !AAC_RATES.has(sampleRate)) {
    // AAC codes only its own list of rates: the stems are resampled to the nearest common one.
    rate = sampleRate % 11025 === 0 ? 44100 : 48000;
    const resampled: Record<string, StemAudio> = {};
    for (const [k, s] of Object.entries(stems)) resampled[k] = { sampleRate: rate, channels: await resample(s.channels, sampleRate, rate) };
    stems = resampled;
    notices.push(`AAC cannot store ${sampleRate} Hz: the stem file is at ${rate} Hz`);
  }
  const length = Object.values(stems)[0].channels[0].length;
  const writer = await createStemFileWriter(path, { sampleRate: rate, codec: o.codec, tags: o.tags });
  try {
    for (let at = 0; at < length; at += CHUNK_FRAMES) {
      const end = Math.min(length, at + CHUNK_FRAMES);
      const part = (s: StemAudio) => s.channels.map((c) => c.subarray(at, end));
      const four = STEM_FILE_STEMS.map((s) => part(stems[s.source]).map((c) => c.slice()));
      for (const name of extra) part(stems[name]).forEach((c, ch) => { for (let i = 0; i < c.length; i++) four[OTHER][ch][i] += c[i]; });
      const mix = [0, 1].map((ch) => {
        const m = new Float32Array(end - at);
        for (const s of four) for (let i = 0; i < m.length; i++) m[i] += s[ch][i];
        return m;
      });
      await writer.write(mix, four);
    }
    await writer.close();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  return notices;
}
