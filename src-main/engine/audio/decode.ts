// decode: a file on disk → planar float32 at the file's own rate and channel count (no resampling, no
// downmix: resample/ and channels.ts do that), whole (decodeFile) or a piece at a time (decodeStream). The
// container is named by its bytes (sniff.ts), never by the extension. Every failure is an XumxError whose message
// reads `<file>: <reason>`.
import type { FileHandle } from 'node:fs/promises';
import { XumxError } from '../errors.ts';
import { readAiff } from './aiff-reader.ts';
import { audioError } from './audio-error.ts';
import { bytesSource, readFlac, readMpeg, readOgg, type ByteSource } from './compressed-readers.ts';
import { readAdts, readMatroska, readMp4, type MediaAudio } from './media-readers.ts';
import { joinPieces, wholeStream, type PieceStream } from './pieces.ts';
import { fileError, openRegularFile } from './regular-file.ts';
import { isSupportedSampleRate, supportedSampleRatesText } from './sample-rates.ts';
import { isAdtsHeader, skipId3v2 } from './mpeg-frames.ts';
import { sniffContainer } from './sniff.ts';
import { readTags, type AudioTags } from './tags.ts';
import { readWav } from './wav-reader.ts';
import type { PcmAudio } from '../types.ts';

export type DecodedFormat = 'wav' | 'aiff' | 'flac' | 'mp3' | 'ogg-vorbis' | 'opus' | 'aac' | 'alac' | 'vorbis';

export interface DecodedAudio extends PcmAudio {
  /** One Float32Array per channel, all the same length. Multichannel files come in WAV/SMPTE order
   *  (L R C LFE Ls Rs …) whatever the codec's own order. Float sources may exceed [-1, 1]. */
  channels: Float32Array[];
  format: DecodedFormat;
  /** Things the user may want to know that did not stop decoding ("read to the end of a streamed WAV"). */
  notices: string[];
  /** Title, artist, album, track, year and cover art, as far as the file has them. */
  tags: AudioTags;
}

/** A file's audio a piece at a time: what decodeStream gives. */
export interface AudioStream extends Omit<DecodedAudio, 'channels'> {
  /** Frames per channel where the header promises them exactly. */
  frames?: number;
  /** The identity of the file opened (regular-file.ts fileIdentity): which file the path named when it was opened. */
  fileId: string;
  /** Planar pieces in order; a damaged or cut file ends them with its error. `notices` is complete after the last. */
  pieces: AsyncIterableIterator<Float32Array[]>;
}

const HEAD_BYTES = 64 * 1024;
/**
 * What streams and what does not: WAV, AIFF and FLAC are read from the file as they are decoded. MP3 and Ogg hold
 * the whole file's bytes (their frame and page walks check the file before decoding) and are decoded a piece at a
 * time. MP4, Matroska and raw AAC are decoded whole by libav, which copies the file into its WebAssembly memory,
 * which must also hold its working buffers: 1.2 GB files have been decoded, so their limit is 1 GiB. Node reads at
 * most 2 GiB at once, the limit of the other compressed files.
 */
const WHOLE_FILE_MAX_BYTES = 2 ** 31 - 1;
const LIBAV_FILE_MAX_BYTES = 2 ** 30;

/** `tags: false` skips reading the tags (and their cover art) where only the samples matter, e.g. for waveforms. */
export async function decodeFile(path: string, o: { tags?: boolean } = {}): Promise<DecodedAudio> {
  const { pieces, frames, fileId: _fileId, ...audio } = await decodeStream(path, o);
  const channels = await joinPieces({ frames, pieces });
  return { ...audio, channels };
}

/**
 * The file's audio a piece at a time (a few MB each), so that a long recording can be written on as it is decoded.
 * The header, the sample rate and the first piece are checked before it returns; a file damaged or cut further on
 * ends the pieces with its error. Stopping early (`pieces.return()`, a `for await` left) closes the file.
 */
export async function decodeStream(path: string, o: { tags?: boolean } = {}): Promise<AudioStream> {
  const { fh, size, id: fileId } = await openRegularFile(path);
  let opened: PieceStream & { format: DecodedFormat };
  try {
    opened = await openSamples(fh, path, size);
  } catch (err) {
    await fh.close();
    throw decodeError(path, err);
  }
  const atEnd: string[] = [];
  const pieces = owned(opened, fh, path, atEnd);
  const first = await pieces.next();
  const stream = new StartedPieces(first, pieces);
  try {
    if (!isSupportedSampleRate(opened.sampleRate)) {
      throw audioError(
        'UNSUPPORTED_SAMPLE_RATE',
        path,
        `the sample rate is ${opened.sampleRate} Hz; X-UMX Studio takes ${supportedSampleRatesText()} (convert the file to 44.1 kHz first)`,
      );
    }
    const { sampleRate, notices, format } = opened;
    const frames = opened.frames !== undefined ? { frames: opened.frames } : {};
    if (o.tags === false) return { sampleRate, format, notices, tags: {}, ...frames, fileId, pieces: stream };
    const tags = await readTags(path);
    atEnd.push(...tags.notices);
    return { sampleRate, format, notices, tags: tags.tags, ...frames, fileId, pieces: stream };
  } catch (err) {
    await stream.return();
    throw err;
  }
}

/** The reader's pieces, its errors made DECODE_FAILED where they are not ours, and the file closed at the end. */
async function* owned(s: PieceStream, fh: FileHandle, path: string, atEnd: string[]): AsyncGenerator<Float32Array[]> {
  try {
    yield* s.pieces;
    s.notices.push(...atEnd);
  } catch (err) {
    throw decodeError(path, err);
  } finally {
    await s.pieces.return(undefined).catch(() => {});
    await fh.close();
  }
}

/** Pieces whose generator has already given its first one (so that stopping early runs its cleanup). */
class StartedPieces implements AsyncIterableIterator<Float32Array[]> {
  constructor(
    private first: IteratorResult<Float32Array[]> | null,
    private readonly rest: AsyncGenerator<Float32Array[]>,
  ) {}
  next(): Promise<IteratorResult<Float32Array[]>> {
    const first = this.first;
    this.first = null;
    return first ? Promise.resolve(first) : this.rest.next();
  }
  async return(): Promise<IteratorResult<Float32Array[]>> {
    this.first = null;
    return this.rest.return(undefined);
  }
  [Symbol.asyncIterator](): this {
    return this;
  }
}

function decodeError(path: string, err: unknown): XumxError {
  if (err instanceof XumxError) return err;
  return audioError('DECODE_FAILED', path, `the decoder failed: ${(err as Error)?.message ?? String(err)}`, err);
}

/** The file's reader, its header checked; the file handle stays the caller's. The stream is the reader's own
 * object (not a copy), whose rate its decoder sets as it starts. */
async function openSamples(
  fh: FileHandle,
  path: string,
  size: number,
): Promise<PieceStream & { format: DecodedFormat }> {
  if (size === 0) throw audioError('FILE_EMPTY', path, 'the file is empty (0 bytes)');
  const head = await readHead(fh, path, Math.min(size, HEAD_BYTES));
  const sniffed = sniffContainer(head);
  switch (sniffed.kind) {
    case 'wav':
      return Object.assign(await readWav(fh, path, size), { format: 'wav' as const });
    case 'aiff':
      return Object.assign(await readAiff(fh, path, size), { format: 'aiff' as const });
    case 'flac':
      return Object.assign(await readFlac(path, fileSource(fh, path, size), 0), { format: 'flac' as const });
    case 'not-audio':
      throw audioError('NOT_AUDIO', path, `this is not an audio file; it looks like ${sniffed.looksLike}`);
    case 'unsupported':
      throw audioError(
        'UNSUPPORTED_CODEC',
        path,
        `${sniffed.codec} is not supported; use WAV, AIFF, FLAC, MP3, Ogg Vorbis, Opus, M4A (AAC, ALAC), WebM or Matroska`,
      );
  }
  const viaLibav = sniffed.kind === 'mp4' || sniffed.kind === 'matroska';
  const limit = viaLibav ? LIBAV_FILE_MAX_BYTES : WHOLE_FILE_MAX_BYTES;
  if (size > limit) {
    throw audioError(
      'FILE_TOO_LARGE',
      path,
      `the file is ${(size / 2 ** 30).toFixed(1)} GiB; ${
        viaLibav ? 'MP4, MOV and Matroska files over 1 GiB' : 'compressed files over 2 GiB'
      } are not supported (extract or convert its sound to FLAC or WAV first)`,
    );
  }
  const whole = size <= HEAD_BYTES ? head : await readHead(fh, path, size);
  switch (sniffed.kind) {
    case 'ogg': {
      const ogg = await readOgg(path, whole);
      return Object.assign(ogg, { format: ogg.codec === 'opus' ? ('opus' as const) : ('ogg-vorbis' as const) });
    }
    case 'mpeg':
      return Object.assign(await readMpeg(path, whole, 0), { format: 'mp3' as const });
    case 'mp4':
      return fromMedia(await readMp4(path, whole));
    case 'matroska':
      return fromMedia(await readMatroska(path, whole));
    case 'adts':
      return fromMedia(await readAdts(path, whole, 0));
    case 'id3':
      return await afterId3(path, whole);
  }
}

/** The file's bytes by position, for a reader that takes them as it decodes. */
function fileSource(fh: FileHandle, path: string, size: number): ByteSource {
  return {
    size,
    async read(at, n) {
      const buf = Buffer.allocUnsafeSlow(Math.max(0, Math.min(n, size - at)));
      let got = 0;
      try {
        while (got < buf.length) {
          const { bytesRead } = await fh.read(buf, got, buf.length - got, at + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (err) {
        throw fileError(path, err);
      }
      if (got < buf.length) throw audioError('TRUNCATED', path, 'the file became shorter while it was being read');
      return new Uint8Array(buf.buffer, 0, got);
    },
  };
}

/** An ID3v2 tag usually starts an MP3, but FLAC and raw AAC files carry them too. */
async function afterId3(path: string, b: Uint8Array): Promise<PieceStream & { format: DecodedFormat }> {
  const at = skipId3v2(b);
  if (at > b.length) throw audioError('TRUNCATED', path, 'the file ends inside its ID3 tag');
  if (at === b.length) throw audioError('ZERO_LENGTH_AUDIO', path, 'the file holds only an ID3 tag and no audio');
  if (b[at] === 0x66 && b[at + 1] === 0x4c && b[at + 2] === 0x61 && b[at + 3] === 0x43) {
    return Object.assign(await readFlac(path, bytesSource(b), at), { format: 'flac' as const });
  }
  if (isAdtsHeader(b, at)) return fromMedia(await readAdts(path, b, at));
  return Object.assign(await readMpeg(path, b, at), { format: 'mp3' as const });
}

/** Opus and FLAC keep their names whatever the container; Vorbis outside Ogg is 'vorbis'. */
function fromMedia(a: MediaAudio): PieceStream & { format: DecodedFormat } {
  return Object.assign(wholeStream(a), { format: a.codec });
}

async function readHead(fh: FileHandle, path: string, n: number): Promise<Uint8Array> {
  const buf = Buffer.allocUnsafeSlow(n);
  let got = 0;
  try {
    while (got < n) {
      const { bytesRead } = await fh.read(buf, got, n - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
  } catch (err) {
    throw fileError(path, err);
  }
  if (got < n) throw audioError('TRUNCATED', path, 'the file became shorter while it was being read');
  return new Uint8Array(buf.buffer, 0, n);
}
