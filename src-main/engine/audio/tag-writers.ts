// AudioTags → the bytes each output format stores them in: an ID3v2.3 tag (MP3, and WAV's `id3 ` chunk; built by
// the `browser-id3-writer` package), RIFF LIST/INFO (WAV), FLAC's VORBIS_COMMENT and PICTURE metadata blocks, and
// iTunes' meta/ilst (MP4 stem files). The encoders (sample-encoders.ts) and stem-file.ts place them.
import { ID3Writer } from 'browser-id3-writer';
import { mp4Box } from './mp4-boxes.ts';
import type { AudioTags } from './tags.ts';

/** An ID3v2.3 tag holding `tags` (title, artist, album, track, year, front cover). */
export function id3v2Tag(tags: AudioTags): Uint8Array {
  const w = new ID3Writer(new ArrayBuffer(0));
  if (tags.title) w.setFrame('TIT2', tags.title);
  if (tags.artist) w.setFrame('TPE1', [tags.artist]);
  if (tags.album) w.setFrame('TALB', tags.album);
  if (tags.track) w.setFrame('TRCK', tags.trackCount ? `${tags.track}/${tags.trackCount}` : String(tags.track));
  if (tags.year) w.setFrame('TYER', tags.year);
  if (tags.cover) w.setFrame('APIC', { type: 3, data: toArrayBuffer(tags.cover.data), description: 'Cover' });
  return new Uint8Array(w.addTag());
}

/** RIFF chunks for a WAV file: LIST/INFO with the text tags, then `id3 ` with the full ID3v2 tag (cover included). */
export function wavTagChunks(tags: AudioTags): Uint8Array {
  const info: [string, string | undefined][] = [
    ['INAM', tags.title],
    ['IART', tags.artist],
    ['IPRD', tags.album],
    ['ITRK', tags.track ? String(tags.track) : undefined],
    ['ICRD', tags.year ? String(tags.year) : undefined],
  ];
  const items = info
    .filter((e): e is [string, string] => !!e[1])
    .map(([id, value]) => riffChunk(id, Buffer.from(`${value}\0`, 'utf8')));
  const chunks: Buffer[] = [];
  if (items.length) chunks.push(riffChunk('LIST', Buffer.concat([Buffer.from('INFO', 'latin1'), ...items])));
  chunks.push(riffChunk('id3 ', id3v2Tag(tags)));
  return Buffer.concat(chunks);
}

function riffChunk(id: string, body: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.write(id, 0, 'latin1');
  head.writeUInt32LE(body.length, 4);
  return Buffer.concat([head, body, Buffer.alloc(body.length % 2)]);
}

/** FLAC metadata blocks (VORBIS_COMMENT, then PICTURE when there is a cover), none marked as the last block. */
export function flacTagBlocks(tags: AudioTags): Uint8Array {
  const comments: [string, string | undefined][] = [
    ['TITLE', tags.title],
    ['ARTIST', tags.artist],
    ['ALBUM', tags.album],
    ['TRACKNUMBER', tags.track ? String(tags.track) : undefined],
    ['TRACKTOTAL', tags.trackCount ? String(tags.trackCount) : undefined],
    ['DATE', tags.year ? String(tags.year) : undefined],
  ];
  const entries = comments
    .filter((c): c is [string, string] => !!c[1])
    .map(([k, v]) => Buffer.from(`${k}=${v}`, 'utf8'));
  const vendor = Buffer.from('X-UMX Studio', 'utf8');
  const vc = Buffer.concat([
    le32(vendor.length),
    vendor,
    le32(entries.length),
    ...entries.flatMap((e) => [le32(e.length), e]),
  ]);
  const blocks: [number, Buffer][] = [[4, vc]];
  if (tags.cover) {
    const mime = Buffer.from(tags.cover.mime, 'latin1');
    const picture = Buffer.concat([
      be32(3),
      be32(mime.length),
      mime,
      be32(0), // front cover, MIME type, empty description
      be32(0),
      be32(0),
      be32(0),
      be32(0), // width, height, depth, colours: unknown
      be32(tags.cover.data.length),
      Buffer.from(tags.cover.data),
    ]);
    blocks.push([6, picture]);
  }
  return Buffer.concat(
    blocks.map(([type, body]) => {
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length, 0);
      head[0] = type;
      return Buffer.concat([head, body]);
    }),
  );
}

/** iTunes-style MP4 tags: meta (a full box) → hdlr 'mdir' + ilst, one data box per item. */
export function itunesTags(t: AudioTags): Buffer {
  const data = (type: number, value: Uint8Array) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(type, 0); // 1 UTF-8, 0 binary, 13 JPEG, 14 PNG; then 4 bytes of locale
    return mp4Box('data', head, value);
  };
  const text = (v: string) => data(1, Buffer.from(v, 'utf8'));
  const items: Buffer[] = [];
  if (t.title) items.push(mp4Box('\xa9nam', text(t.title)));
  if (t.artist) items.push(mp4Box('\xa9ART', text(t.artist)));
  if (t.album) items.push(mp4Box('\xa9alb', text(t.album)));
  if (t.year) items.push(mp4Box('\xa9day', text(String(t.year))));
  if (t.track && t.track <= 0xffff) {
    // trkn holds 16-bit numbers; a larger one is left out
    const trkn = Buffer.alloc(8);
    trkn.writeUInt16BE(t.track, 2);
    trkn.writeUInt16BE(t.trackCount && t.trackCount <= 0xffff ? t.trackCount : 0, 4);
    items.push(mp4Box('trkn', data(0, trkn)));
  }
  if (t.cover) items.push(mp4Box('covr', data(t.cover.mime === 'image/png' ? 14 : 13, t.cover.data)));
  const hdlr = mp4Box('hdlr', Buffer.alloc(8), Buffer.from('mdirappl', 'latin1'), Buffer.alloc(9));
  return mp4Box('meta', Buffer.alloc(4), hdlr, mp4Box('ilst', ...items));
}

const le32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const be32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};

function toArrayBuffer(u: Uint8Array): ArrayBuffer {
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;
}
