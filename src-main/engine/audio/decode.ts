// decode: a file on disk → planar float32 at the file's own rate and channel count (no resampling, no
// downmix: resample/ and channels.ts do that). The container is named by its bytes (sniff.ts), never by
// the extension. Every failure is an XumxError whose message reads `<file>: <reason>`.
import type { FileHandle } from 'node:fs/promises';
import { XumxError } from '../errors.ts';
import { readAiff } from './aiff-reader.ts';
import { audioError } from './audio-error.ts';
import { readFlac, readMpeg, readOgg, type CompressedAudio } from './compressed-readers.ts';
import { readAdts, readMatroska, readMp4, type MediaAudio } from './media-readers.ts';
import { fileError, openRegularFile } from './regular-file.ts';
import { isSupportedSampleRate, supportedSampleRatesText } from './sample-rates.ts';
import { isAdtsHeader, skipId3v2 } from './mpeg-frames.ts';
import { sniffContainer } from './sniff.ts';
import { readTags, type AudioTags } from './tags.ts';
import { readWav } from './wav-reader.ts';

export type DecodedFormat = 'wav' | 'aiff' | 'flac' | 'mp3' | 'ogg-vorbis' | 'opus' | 'aac' | 'alac' | 'vorbis';

export interface DecodedAudio {
  sampleRate: number;
  /** One Float32Array per channel, all the same length. Multichannel files come in WAV/SMPTE order
   *  (L R C LFE Ls Rs …) whatever the codec's own order. Float sources may exceed [-1, 1]. */
  channels: Float32Array[];
  format: DecodedFormat;
  /** Things the user may want to know that did not stop decoding ("read to the end of a streamed WAV"). */
  notices: string[];
  /** Title, artist, album, track, year and cover art, as far as the file has them. */
  tags: AudioTags;
}

const HEAD_BYTES = 64 * 1024;
/**
 * Compressed files are decoded from memory (Node reads at most 2 GiB at once). libav (MP4, Matroska) copies the
 * file into its WebAssembly memory, which must also hold its working buffers: 1.2 GB files have been decoded,
 * so the limit is 1 GiB. WAV and AIFF are streamed and have no such limit.
 */
const WHOLE_FILE_MAX_BYTES = 2 ** 31 - 1;
const LIBAV_FILE_MAX_BYTES = 2 ** 30;

/** `tags: false` skips reading the tags (and their cover art) where only the samples matter, e.g. for waveforms. */
export async function decodeFile(path: string, o: { tags?: boolean } = {}): Promise<DecodedAudio> {
  const audio = await decodeSamples(path);
  if (!isSupportedSampleRate(audio.sampleRate)) {
    throw audioError('UNSUPPORTED_SAMPLE_RATE', path, `the sample rate is ${audio.sampleRate} Hz; X-UMX Studio takes ${supportedSampleRatesText()} (convert the file to 44.1 kHz first)`);
  }
  if (o.tags === false) return { ...audio, tags: {} };
  const { tags, notices } = await readTags(path);
  return { ...audio, tags, notices: [...audio.notices, ...notices] };
}

async function decodeSamples(path: string): Promise<Omit<DecodedAudio, 'tags'>> {
  const { fh, size } = await openRegularFile(path);
  if (size === 0) {
    await fh.close();
    throw audioError('FILE_EMPTY', path, 'the file is empty (0 bytes)');
  }
  try {
    const head = await readHead(fh, path, Math.min(size, HEAD_BYTES));
    const sniffed = sniffContainer(head);
    switch (sniffed.kind) {
      case 'wav': {
        const wav = await readWav(fh, path, size);
        return { ...wav, format: 'wav' };
      }
      case 'aiff': {
        const aiff = await readAiff(fh, path, size);
        return { ...aiff, format: 'aiff' };
      }
      case 'not-audio':
        throw audioError('NOT_AUDIO', path, `this is not an audio file; it looks like ${sniffed.looksLike}`);
      case 'unsupported':
        throw audioError('UNSUPPORTED_CODEC', path, `${sniffed.codec} is not supported; use WAV, AIFF, FLAC, MP3, Ogg Vorbis, Opus, M4A (AAC, ALAC), WebM or Matroska`);
    }
    const viaLibav = sniffed.kind === 'mp4' || sniffed.kind === 'matroska';
    const limit = viaLibav ? LIBAV_FILE_MAX_BYTES : WHOLE_FILE_MAX_BYTES;
    if (size > limit) {
      throw audioError('FILE_TOO_LARGE', path, `the file is ${(size / 2 ** 30).toFixed(1)} GiB; ${viaLibav ? 'MP4, MOV and Matroska files over 1 GiB'
        : 'compressed files over 2 GiB'} are not supported (extract or convert its sound to FLAC or WAV first)`);
    }
    const whole = size <= HEAD_BYTES ? head : await readHead(fh, path, size);
    switch (sniffed.kind) {
      case 'flac':
        return withFormat(await readFlac(path, whole, 0), 'flac');
      case 'ogg': {
        const ogg = await readOgg(path, whole);
        return withFormat(ogg, ogg.codec === 'opus' ? 'opus' : 'ogg-vorbis');
      }
      case 'mpeg':
        return withFormat(await readMpeg(path, whole, 0), 'mp3');
      case 'mp4':
        return fromMedia(await readMp4(path, whole));
      case 'matroska':
        return fromMedia(await readMatroska(path, whole));
      case 'adts':
        return fromMedia(await readAdts(path, whole, 0));
      case 'id3':
        return await afterId3(path, whole);
    }
  } catch (err) {
    if (err instanceof XumxError) throw err;
    throw audioError('DECODE_FAILED', path, `the decoder failed: ${(err as Error)?.message ?? String(err)}`, err);
  } finally {
    await fh.close();
  }
}

/** An ID3v2 tag usually starts an MP3, but FLAC and raw AAC files carry them too. */
async function afterId3(path: string, b: Uint8Array): Promise<Omit<DecodedAudio, 'tags'>> {
  const at = skipId3v2(b);
  if (at > b.length) throw audioError('TRUNCATED', path, 'the file ends inside its ID3 tag');
  if (at === b.length) throw audioError('ZERO_LENGTH_AUDIO', path, 'the file holds only an ID3 tag and no audio');
  if (b[at] === 0x66 && b[at + 1] === 0x4c && b[at + 2] === 0x61 && b[at + 3] === 0x43) {
    return withFormat(await readFlac(path, b, at), 'flac');
  }
  if (isAdtsHeader(b, at)) return fromMedia(await readAdts(path, b, at));
  return withFormat(await readMpeg(path, b, at), 'mp3');
}

/** Opus and FLAC keep their names whatever the container; Vorbis outside Ogg is 'vorbis'. */
function fromMedia(a: MediaAudio): Omit<DecodedAudio, 'tags'> {
  return withFormat(a, a.codec);
}

function withFormat(a: CompressedAudio, format: DecodedFormat): Omit<DecodedAudio, 'tags'> {
  return { sampleRate: a.sampleRate, channels: a.channels, notices: a.notices, format };
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
