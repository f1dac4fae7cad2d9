// A song's tags (title, artist, album, track, year, cover art), read from any container we decode by the
// `music-metadata` package (ID3, Vorbis comments, FLAC pictures, MP4 ilst, RIFF INFO, Matroska tags), and carried
// to every stem and mix written from it (tag-writers.ts). Tags never stop a separation: a file whose tags cannot
// be read separates without them, with a notice.
import { open } from 'node:fs/promises';
import { parseFile } from 'music-metadata';
import { chunks } from './wav-reader.ts';

export interface CoverArt {
  /** MIME type, e.g. image/jpeg. */
  mime: string;
  data: Uint8Array;
}

export interface AudioTags {
  title?: string;
  artist?: string;
  album?: string;
  track?: number;
  trackCount?: number;
  year?: number;
  cover?: CoverArt;
}

/** Longer text tags are cut: no title needs more, and FLAC and ID3 frames have size limits. */
const MAX_TEXT_CHARS = 4096;

/** JPEG or PNG by the file's first bytes, or null. */
function imageType(d: Uint8Array): 'image/jpeg' | 'image/png' | null {
  if (d[0] === 0xff && d[1] === 0xd8 && d[2] === 0xff) return 'image/jpeg';
  if (
    d[0] === 0x89 &&
    d[1] === 0x50 &&
    d[2] === 0x4e &&
    d[3] === 0x47 &&
    d[4] === 0x0d &&
    d[5] === 0x0a &&
    d[6] === 0x1a &&
    d[7] === 0x0a
  )
    return 'image/png';
  return null;
}

/** Embedded pictures above this size are left out of the stems (a cover is rarely over 1 MB; some files carry posters). */
const MAX_COVER_BYTES = 8 << 20;

export async function readTags(path: string): Promise<{ tags: AudioTags; notices: string[] }> {
  const notices: string[] = [];
  let common;
  let native;
  let container;
  try {
    ({
      common,
      native,
      format: { container },
    } = await parseFile(path, { duration: false, skipCovers: false }));
  } catch (err) {
    return {
      tags: {},
      notices: [`could not read the file's tags (${(err as Error)?.message ?? String(err)}); the stems carry none`],
    };
  }
  const tags: AudioTags = {};
  // Control characters (terminal escape sequences among them) never reach a stem, a screen or a terminal.
  const text = (v: unknown) => {
    const t =
      typeof v === 'string'
        ? v
            .slice(0, MAX_TEXT_CHARS)
            .replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ')
            .trim()
        : '';
    return t ? t : undefined;
  };
  const positive = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
  tags.title = text(common.title);
  tags.artist = text(common.artist) ?? text(common.albumartist);
  tags.album = text(common.album);
  tags.track = positive(common.track?.no);
  tags.trackCount = positive(common.track?.of);
  tags.year = positive(common.year);
  // music-metadata reads RIFF INFO text as 7-bit ASCII; most writers store UTF-8 there. Without an ID3 tag
  // (which it reads correctly and which takes precedence), INFO is read again here.
  if (container === 'WAVE' && native.exif && !Object.keys(native).some((k) => k.startsWith('ID3'))) {
    const info = await riffInfo(path).catch(() => ({}) as Record<string, string>);
    tags.title = text(info.INAM) ?? tags.title;
    tags.artist = text(info.IART) ?? tags.artist;
    tags.album = text(info.IPRD) ?? tags.album;
  }
  // Matroska tags without a target level (what ffmpeg writes) reach music-metadata's common tags only in part.
  const mkv = (name: string) => native.matroska?.find((t) => t.id.endsWith(`:${name}`))?.value;
  tags.album ??= text(mkv('ALBUM'));
  tags.year ??= positive(parseInt(String(mkv('DATE') ?? ''), 10));
  const picture = common.picture?.find((p) => p.type === 'Cover (front)') ?? common.picture?.[0];
  if (picture && picture.data.length > 0) {
    // The bytes decide, not the declared type: writers label pictures wrongly, and the ID3 writer refuses
    // anything but real JPEG and PNG data.
    const mime = imageType(picture.data);
    if (!mime) notices.push("left out the embedded picture from the stems' tags: it is not a JPEG or PNG image");
    else if (picture.data.length > MAX_COVER_BYTES)
      notices.push(
        `left out the embedded picture (${(picture.data.length / 2 ** 20).toFixed(1)} MB) from the stems' tags`,
      );
    else tags.cover = { mime, data: Uint8Array.from(picture.data) };
  }
  for (const k of Object.keys(tags) as (keyof AudioTags)[]) if (tags[k] === undefined) delete tags[k];
  return { tags, notices };
}

/** The text items of a RIFF WAV's LIST/INFO chunk, decoded as UTF-8 (Latin-1 where the bytes are not UTF-8). */
async function riffInfo(path: string): Promise<Record<string, string>> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    for await (const c of chunks(fh, size, false)) {
      if (c.id !== 'LIST' || c.size < 4 || c.size > 1 << 20) continue;
      const body = Buffer.alloc(c.size);
      await fh.read(body, 0, c.size, c.bodyAt);
      if (body.toString('latin1', 0, 4) === 'INFO') return infoItems(body.subarray(4));
    }
    return {};
  } finally {
    await fh.close();
  }
}

function infoItems(b: Buffer): Record<string, string> {
  const items: Record<string, string> = {};
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  for (let at = 0; at + 8 <= b.length;) {
    const id = b.toString('latin1', at, at + 4);
    const len = b.readUInt32LE(at + 4);
    const raw = b.subarray(at + 8, Math.min(b.length, at + 8 + len));
    const end = raw.indexOf(0);
    const bytes = end >= 0 ? raw.subarray(0, end) : raw;
    try {
      items[id] = utf8.decode(bytes);
    } catch {
      items[id] = bytes.toString('latin1');
    }
    at += 8 + len + (len % 2);
  }
  return items;
}

/** A stem's tags: the song's, with the stem named in the title ("Song (vocals)"). A song without tags gives none. */
export function stemTags(song: AudioTags, stem: string): AudioTags {
  return song.title ? { ...song, title: `${song.title} (${stem})` } : { ...song };
}

/**
 * A mix's tags, made from one of its stems' (which carry the song's tags under their own titles): the song's
 * title with `label` added ("Song (karaoke)") or alone, or no title when the song has none.
 */
export function mixTags(stem: AudioTags, songTitle: string | undefined, label?: string): AudioTags {
  const { title: _stemTitle, ...song } = stem;
  if (!songTitle) return song;
  return label ? stemTags({ ...song, title: songTitle }, label) : { ...song, title: songTitle };
}

export function hasTags(t: AudioTags | undefined): t is AudioTags {
  return !!t && Object.keys(t).length > 0;
}
