// The one place that talks to libav.js (FFmpeg 6.1's libavformat/libavcodec compiled to WebAssembly, LGPL-2.1,
// loaded as a separate module from node_modules). It demuxes MP4/MOV and Matroska/WebM and decodes AAC (LC, HE,
// HE v2), ALAC, Opus and Vorbis for the readers in media-readers.ts. One instance per thread, created on first
// use (~0.1 s); each call gets its own in-memory file and frees it.
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type { LibAV as LibAVInstance, LibAVSync, Frame, Packet, Stream } from '@libav.js/variant-fat';

type LibAV = LibAVInstance & LibAVSync;

/** The variant's entry script; the version in its name is pinned in package.json. */
const ENTRY = 'libav-4.10.6.1.1-fat.js';

let instance: Promise<LibAV> | null = null;
let fileCounter = 0;

function loadLibav(): Promise<LibAV> {
  instance ??= (async () => {
    const require = createRequire(import.meta.url);
    const base = dirname(require.resolve('@libav.js/variant-fat/package.json')) + '/dist';
    const g = globalThis as { LibAV?: { base?: string; LibAV?: (o: object) => Promise<LibAV> } };
    // The entry script reads the global LibAV for its base folder and then fills it in.
    g.LibAV = { ...(g.LibAV ?? {}), base };
    require(`${base}/${ENTRY}`);
    const libav = await g.LibAV.LibAV!({ noworker: true, nothreads: true });
    await libav.av_log_set_level(libav.AV_LOG_QUIET);
    return libav;
  })();
  return instance;
}

/** Planar float32 pieces in decode order, with the stream's output rate and channel count. */
export interface LibavPieces {
  sampleRate: number;
  channelCount: number;
  pieces: Float32Array[][];
  frames: number;
}

/** What the demuxer found: the audio stream it will decode, or why there is none it can. */
export type LibavAudioStream =
  | { ok: true; index: number; codecId: number; durationSeconds: number | null }
  | { ok: false; reason: 'no-audio' | 'no-decoder'; codecId?: number };

export class LibavError extends Error {}

/**
 * Demuxes `bytes` (a whole MP4/MOV or Matroska file) and decodes its first audio stream; every other stream is
 * discarded unread. `pick` sees the stream and may refuse it before decoding starts (by throwing).
 */
export async function decodeContainer(bytes: Uint8Array, pick: (s: LibavAudioStream) => void): Promise<LibavPieces> {
  const libav = await loadLibav();
  const name = `input-${++fileCounter}`;
  await libav.writeFile(name, bytes);
  let fmt = 0;
  try {
    let streams: Stream[];
    try {
      [fmt, streams] = await libav.ff_init_demuxer_file(name);
    } catch (err) {
      throw new LibavError(`the container cannot be read (${messageOf(err)})`);
    }
    const audio = streams.find((s) => s.codec_type === libav.AVMEDIA_TYPE_AUDIO);
    const hasDecoder = audio ? (await libav.avcodec_find_decoder(audio.codec_id)) !== 0 : false;
    const choice: LibavAudioStream = !audio ? { ok: false, reason: 'no-audio' }
      : !hasDecoder ? { ok: false, reason: 'no-decoder', codecId: audio.codec_id }
      : { ok: true, index: audio.index, codecId: audio.codec_id, durationSeconds: streamSeconds(audio) };
    pick(choice);
    if (!choice.ok || !audio) throw new LibavError('no decodable audio stream');
    for (const s of streams) if (s.index !== audio.index) await libav.AVStream_discard_s(s.ptr, libav.AVDISCARD_ALL);

    const [, ctx, pkt, frame] = await libav.ff_init_decoder(audio.codec_id, audio.codecpar);
    try {
      const out = newPieces();
      for (;;) {
        const [res, packets] = await libav.ff_read_multi(fmt, pkt, undefined, { limit: 1 << 20 });
        const mine = packets[audio.index] ?? [];
        const eof = res === libav.AVERROR_EOF;
        if (res !== 0 && res !== -libav.EAGAIN && !eof) throw new LibavError(`the container is damaged (${await errorText(libav, res)})`);
        if (mine.length || eof) addFrames(libav, out, await decode(libav, ctx, pkt, frame, mine, eof));
        if (eof) break;
      }
      return out;
    } finally {
      await libav.ff_free_decoder(ctx, pkt, frame);
    }
  } finally {
    if (fmt) await libav.avformat_close_input_js(fmt);
    await libav.unlink(name);
  }
}

/** Decodes raw codec packets (e.g. ADTS frames, which carry their own configuration) with the named decoder. */
export async function decodePackets(decoderName: string, packets: Uint8Array[]): Promise<LibavPieces> {
  const libav = await loadLibav();
  const [, ctx, pkt, frame] = await libav.ff_init_decoder(decoderName);
  try {
    const out = newPieces();
    const BATCH = 256;
    for (let i = 0; i < packets.length || i === 0; i += BATCH) {
      const batch = packets.slice(i, i + BATCH).map((data): Packet => ({ data }));
      addFrames(libav, out, await decode(libav, ctx, pkt, frame, batch, i + BATCH >= packets.length));
    }
    return out;
  } finally {
    await libav.ff_free_decoder(ctx, pkt, frame);
  }
}

async function decode(libav: LibAV, ctx: number, pkt: number, frame: number, packets: Packet[], fin: boolean): Promise<Frame[]> {
  try {
    return await libav.ff_decode_multi(ctx, pkt, frame, packets, { fin });
  } catch (err) {
    throw new LibavError(`the audio data is damaged (${messageOf(err).replace(/^Error submitting the packet to the decoder: /, '')})`);
  }
}

function newPieces(): LibavPieces {
  return { sampleRate: 0, channelCount: 0, pieces: [], frames: 0 };
}

function addFrames(libav: LibAV, out: LibavPieces, frames: Frame[]): void {
  for (const f of frames) {
    const n = f.nb_samples ?? 0;
    if (n === 0) continue;
    const channels = f.channels ?? 0;
    if (out.frames === 0) { out.sampleRate = f.sample_rate ?? 0; out.channelCount = channels; }
    if (f.sample_rate !== out.sampleRate || channels !== out.channelCount) {
      throw new LibavError(`the stream changes from ${out.channelCount} channels at ${out.sampleRate} Hz to ${channels} at ${f.sample_rate} Hz midway`);
    }
    out.pieces.push(toPlanarFloat(libav, f, channels, n));
    out.frames += n;
  }
}

/** Any of FFmpeg's sample formats → one Float32Array per channel (integers scaled by 2^(bits−1)). */
function toPlanarFloat(libav: LibAV, f: Frame, channels: number, n: number): Float32Array[] {
  const fmt = f.format;
  const planar = [libav.AV_SAMPLE_FMT_U8P, libav.AV_SAMPLE_FMT_S16P, libav.AV_SAMPLE_FMT_S32P, libav.AV_SAMPLE_FMT_FLTP, libav.AV_SAMPLE_FMT_DBLP].includes(fmt);
  const scale = fmt === libav.AV_SAMPLE_FMT_S16 || fmt === libav.AV_SAMPLE_FMT_S16P ? 1 / 32768
    : fmt === libav.AV_SAMPLE_FMT_S32 || fmt === libav.AV_SAMPLE_FMT_S32P ? 1 / 2147483648
    : fmt === libav.AV_SAMPLE_FMT_U8 || fmt === libav.AV_SAMPLE_FMT_U8P ? 1 / 128 : 1;
  const offset = fmt === libav.AV_SAMPLE_FMT_U8 || fmt === libav.AV_SAMPLE_FMT_U8P ? -128 : 0;
  const out: Float32Array[] = [];
  for (let c = 0; c < channels; c++) {
    const src: ArrayLike<number> = planar ? f.data[c] : f.data;
    const dst = new Float32Array(n);
    if (planar) for (let i = 0; i < n; i++) dst[i] = (src[i] + offset) * scale;
    else for (let i = 0, j = c; i < n; i++, j += channels) dst[i] = (src[j] + offset) * scale;
    out.push(dst);
  }
  return out;
}

function streamSeconds(s: Stream): number | null {
  const d = s.duration_time_base;
  if (!Number.isFinite(d) || d <= 0 || !s.time_base_den) return null;
  return (d * s.time_base_num) / s.time_base_den;
}

async function errorText(libav: LibAV, code: number): Promise<string> {
  try {
    return await libav.ff_error(code);
  } catch {
    return `error ${code}`;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
