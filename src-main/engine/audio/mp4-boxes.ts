// MP4/MOV (ISO base media) box structure: enough parsing to tell a whole file from a cut one before decoding, to
// name the first audio track's codec, and to find iTunes' gapless tag (iTunSMPB). The samples themselves come
// from libav (libav.ts), which also applies edit lists. Cut means: a box runs past the end of the file, the
// index (moov) is missing after the media data, or the audio track's chunks end beyond the last byte. Also
// builds boxes, for the stem file's index (stem-file.ts) and iTunes tags (tag-writers.ts).
import { printable } from './audio-error.ts';

export interface Box {
  type: string;
  /** Offset of the box header. */
  at: number;
  /** Offset of the first byte after the header. */
  bodyAt: number;
  /** Offset of the first byte after the box. */
  end: number;
}

const latin1 = new TextDecoder('latin1');
/** More boxes than this in the index is no real file; walking them all would only cost time. */
const MAX_MOOV_CHILDREN = 100_000;

const text = (b: Uint8Array, at: number, n: number) => latin1.decode(b.subarray(at, at + Math.max(0, n)));
const u32 = (b: Uint8Array, at: number) => ((b[at] << 24) >>> 0) + (b[at + 1] << 16) + (b[at + 2] << 8) + b[at + 3];
const u64 = (b: Uint8Array, at: number) => u32(b, at) * 2 ** 32 + u32(b, at + 4);

/** The boxes between `from` and `to`. A box that claims to run past `to` is yielded with `end` beyond `to`. */
export function* boxes(b: Uint8Array, from: number, to: number): Generator<Box> {
  for (let at = from; at + 8 <= to;) {
    let size = u32(b, at);
    let bodyAt = at + 8;
    if (size === 1) {
      if (at + 16 > to) return yield { type: text(b, at + 4, 4), at, bodyAt: at + 16, end: Infinity };
      size = u64(b, at + 8);
      bodyAt = at + 16;
    } else if (size === 0) size = to - at; // "to the end of the file"
    if (size < bodyAt - at) return; // not a box: stop rather than loop
    yield { type: text(b, at + 4, 4), at, bodyAt, end: at + size };
    at += size;
  }
}

function child(b: Uint8Array, parent: Box, type: string, skip = 0): Box | undefined {
  for (const c of boxes(b, parent.bodyAt + skip, Math.min(parent.end, b.length))) if (c.type === type) return c;
  return undefined;
}

function path(b: Uint8Array, from: Box, ...types: string[]): Box | undefined {
  let box: Box | undefined = from;
  for (const t of types) {
    // `meta` is a full box (4 bytes of version and flags before its children) in MP4, a plain one in QuickTime.
    const skip = box.type === 'meta' && !isBoxHeader(b, box.bodyAt) ? 4 : 0;
    box = child(b, box, t, skip);
    if (!box) return undefined;
  }
  return box;
}

function isBoxHeader(b: Uint8Array, at: number): boolean {
  return at + 8 <= b.length && u32(b, at) >= 8 && /^[\x20-\x7e©]{4}$/.test(text(b, at + 4, 4));
}

export interface ITunesGapless {
  /** Encoder delay: samples to drop from the start. */
  delay: number;
  padding: number;
  /** The original length in samples (0 when the tag does not say). */
  frames: number;
  /**
   * Whether FFmpeg's mov demuxer (libav) drops the delay itself: it gives a tag's delay (when 0 < delay < 16384)
   * to the last track read before the tag, so only when the audio track is that track.
   */
  skippedByDemuxer: boolean;
}

export interface AudioTrack {
  /** The sample entry's four-character code ('mp4a', 'alac', 'Opus', 'ac-3', …). */
  codec: string;
  /** True when the track carries an edit list that moves its start (libav applies it). */
  hasEditStart: boolean;
}

export type Mp4Layout =
  | { ok: true; audio: AudioTrack | null; gapless: ITunesGapless | null; fragmented: boolean; stemFile: boolean }
  | { ok: false; cut: boolean; detail: string };

export function readMp4Layout(b: Uint8Array): Mp4Layout {
  let moov: Box | undefined;
  let sawMdat = false;
  let fragmented = false;
  let end = 0;
  let lastType = '';
  for (const box of boxes(b, 0, b.length)) {
    end = box.end;
    lastType = box.type;
    if (box.end > b.length)
      return {
        ok: false,
        cut: true,
        detail: `the file ends inside its "${printable(box.type)}" box (${box.end - b.length} bytes missing)`,
      };
    if (box.type === 'moov') moov = box;
    if (box.type === 'mdat') sawMdat = true;
    if (box.type === 'moof') fragmented = true;
  }
  if (end < b.length && b.length - end < 8)
    return {
      ok: false,
      cut: true,
      detail: `the file ends inside the header of a box, ${b.length - end} bytes after the last whole one`,
    };
  if (fragmented && lastType === 'moof')
    return { ok: false, cut: true, detail: "the file ends after a fragment's index (moof), before its audio" };
  if (!moov) {
    return sawMdat
      ? {
          ok: false,
          cut: true,
          detail:
            'the file ends before its index (the "moov" box); it was probably cut off while downloading or recording',
        }
      : { ok: false, cut: false, detail: 'the MP4 file has no index ("moov" box)' };
  }
  let audio: AudioTrack | null = null;
  let gapless: ITunesGapless | null = null;
  let lastTrakIsAudio = false;
  let children = 0;
  for (const trak of boxes(b, moov.bodyAt, moov.end)) {
    if (++children > MAX_MOOV_CHILDREN)
      return {
        ok: false,
        cut: false,
        detail: `the MP4 index holds more than ${MAX_MOOV_CHILDREN} boxes; the file is damaged`,
      };
    if (trak.type === 'udta' && !gapless) {
      const tag = readITunSmpb(b, trak);
      if (tag) gapless = { ...tag, skippedByDemuxer: lastTrakIsAudio && tag.delay > 0 && tag.delay < 16384 };
    }
    if (trak.type !== 'trak') continue;
    lastTrakIsAudio = false;
    if (audio) continue;
    const hdlr = path(b, trak, 'mdia', 'hdlr');
    if (!hdlr || text(b, hdlr.bodyAt + 8, 4) !== 'soun') continue;
    const stbl = path(b, trak, 'mdia', 'minf', 'stbl');
    const stsd = stbl && child(b, stbl, 'stsd');
    const codec = stsd && stsd.bodyAt + 16 <= b.length ? text(b, stsd.bodyAt + 12, 4) : '????';
    const cutAt = stbl && !fragmented ? trackDataEnd(b, stbl) : 0;
    if (cutAt > b.length) {
      return {
        ok: false,
        cut: true,
        detail: `the audio data runs to byte ${cutAt} but the file ends at byte ${b.length}`,
      };
    }
    audio = { codec, hasEditStart: editListMovesStart(b, trak) };
    lastTrakIsAudio = true;
  }
  const udtas = [...boxes(b, moov.bodyAt, moov.end)].filter((c) => c.type === 'udta');
  return { ok: true, audio, gapless, fragmented, stemFile: udtas.some((u) => child(b, u, 'stem')) };
}

/** The end of the track's last chunk, from its chunk offsets (stco/co64), chunk map (stsc) and sample sizes (stsz). */
function trackDataEnd(b: Uint8Array, stbl: Box): number {
  const stco = child(b, stbl, 'stco') ?? child(b, stbl, 'co64');
  const stsc = child(b, stbl, 'stsc');
  const stsz = child(b, stbl, 'stsz');
  if (!stco || !stsc || !stsz) return 0;
  const wide = stco.type === 'co64';
  const chunks = u32(b, stco.bodyAt + 4);
  const runs = u32(b, stsc.bodyAt + 4);
  const uniform = u32(b, stsz.bodyAt + 4);
  const samples = u32(b, stsz.bodyAt + 8);
  if (stco.bodyAt + 8 + chunks * (wide ? 8 : 4) > stco.end || stsc.bodyAt + 8 + runs * 12 > stsc.end) return 0;
  if (uniform === 0 && stsz.bodyAt + 12 + samples * 4 > stsz.end) return 0;
  let end = 0;
  let sample = 0;
  // Each chunk is visited at most once (a run's first chunk must lie past the previous run's), so a crafted
  // table cannot make this walk longer than the chunk list.
  let next = 0;
  for (let r = 0; r < runs && next < chunks && sample < samples; r++) {
    const first = Math.max(next, u32(b, stsc.bodyAt + 8 + r * 12) - 1);
    const perChunk = u32(b, stsc.bodyAt + 12 + r * 12);
    const last = r + 1 < runs ? u32(b, stsc.bodyAt + 8 + (r + 1) * 12) - 1 : chunks;
    if (last <= first) continue;
    next = Math.min(last, chunks);
    if (perChunk === 0) continue;
    for (let c = first; c < last && c < chunks && sample < samples; c++) {
      const offset = wide ? u64(b, stco.bodyAt + 8 + c * 8) : u32(b, stco.bodyAt + 8 + c * 4);
      let bytes = 0;
      for (let s = 0; s < perChunk && sample < samples; s++, sample++)
        bytes += uniform || u32(b, stsz.bodyAt + 12 + sample * 4);
      end = Math.max(end, offset + bytes);
    }
  }
  return end;
}

function editListMovesStart(b: Uint8Array, trak: Box): boolean {
  const elst = path(b, trak, 'edts', 'elst');
  if (!elst || elst.bodyAt + 8 > b.length) return false;
  const version = b[elst.bodyAt];
  const entries = u32(b, elst.bodyAt + 4);
  const entryBytes = version === 1 ? 20 : 12;
  for (let i = 0; i < entries; i++) {
    const at = elst.bodyAt + 8 + i * entryBytes;
    if (at + entryBytes > elst.end) break;
    const mediaTime = version === 1 ? u64(b, at + 8) : u32(b, at + 4);
    // An empty edit (media time −1) delays the track; any other non-zero media time skips into it.
    if (mediaTime !== 0 && mediaTime !== 0xffffffff && mediaTime !== 2 ** 64 - 1) return true;
  }
  return false;
}

/** iTunes' gapless tag: udta/meta/ilst/'----' with name "iTunSMPB" and text " 0 delay padding length …" in hex. */
function readITunSmpb(b: Uint8Array, udta: Box): Omit<ITunesGapless, 'skippedByDemuxer'> | null {
  const ilst = path(b, udta, 'meta', 'ilst');
  if (!ilst) return null;
  for (const item of boxes(b, ilst.bodyAt, Math.min(ilst.end, b.length))) {
    if (item.type !== '----') continue;
    const name = child(b, item, 'name');
    const data = child(b, item, 'data');
    if (!name || !data || text(b, name.bodyAt + 4, name.end - name.bodyAt - 4) !== 'iTunSMPB') continue;
    const fields = text(b, data.bodyAt + 8, data.end - data.bodyAt - 8)
      .trim()
      .split(/\s+/)
      .map((h) => parseInt(h, 16));
    if (fields.length < 4 || fields.slice(0, 4).some((v) => !Number.isFinite(v))) return null;
    return { delay: fields[1], padding: fields[2], frames: fields[3] };
  }
  return null;
}

/** A box: size, type, then the body (`body` may hold child boxes). */
export function mp4Box(type: string, ...body: Uint8Array[]): Buffer {
  const payload = Buffer.concat(body);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + payload.length, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, payload]);
}

/** `moov` (a whole moov box) with every udta child replaced by `udta`, which becomes its last child. */
export function replaceUserData(moov: Uint8Array, udta: Uint8Array): Buffer {
  const kept = [...boxes(moov, 8, moov.length)].filter((b) => b.type !== 'udta').map((b) => moov.subarray(b.at, b.end));
  return mp4Box('moov', ...kept, udta);
}
