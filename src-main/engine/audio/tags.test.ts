// Tags: read from every input container that carries them, and written into every output format so that both
// this app (music-metadata) and an independent reader (ffprobe) find them again. Fixtures are tagged by ffmpeg.
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasFfmpeg, lavfi, runFfmpeg, tempDir, WRITTEN_OUTPUTS } from '../../../test/fixtures/audio.ts';
import { decodeFile } from './decode.ts';
import { writeAudioFile } from './stem-writer.ts';
import { mixTags, readTags, stemTags, type AudioTags } from './tags.ts';

const skip = !hasFfmpeg() && 'ffmpeg is not installed';

const SONG = { title: 'Sång för dig', artist: 'Årets Band', album: 'Första', track: 3, year: 2021 };
const METADATA = [
  '-metadata',
  `title=${SONG.title}`,
  '-metadata',
  `artist=${SONG.artist}`,
  '-metadata',
  `album=${SONG.album}`,
  '-metadata',
  `track=${SONG.track}`,
  '-metadata',
  `date=${SONG.year}`,
];

/** A small real PNG (ffmpeg draws it), so readers that check images accept it. */
function coverPng(dir: string): string {
  const path = join(dir, 'cover.png');
  runFfmpeg([...lavfi('color=c=red:s=16x16:d=1'), '-frames:v', '1', path]);
  return path;
}

/** ffprobe's view of a file's tags (keys lower-cased) and whether it sees an attached picture. */
function probe(path: string): { tags: Record<string, string>; picture: boolean } {
  const out = JSON.parse(
    execFileSync('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', path]).toString(),
  );
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(out.format.tags ?? {})) tags[k.toLowerCase()] = String(v);
  for (const s of out.streams) for (const [k, v] of Object.entries(s.tags ?? {})) tags[k.toLowerCase()] ??= String(v);
  return { tags, picture: out.streams.some((s: { codec_type: string }) => s.codec_type === 'video') };
}

describe('tags', { skip }, () => {
  let dir = '';
  let cover = '';
  before(() => {
    dir = tempDir('xumx-tags-');
    cover = coverPng(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const inputs: { name: string; file: string; args: string[]; withCover: boolean }[] = [
    {
      name: 'MP3 (ID3v2)',
      file: 'in.mp3',
      args: ['-c:a', 'libmp3lame', '-id3v2_version', '3', '-f', 'mp3'],
      withCover: true,
    },
    {
      name: 'FLAC (Vorbis comments, picture block)',
      file: 'in.flac',
      args: ['-c:a', 'flac', '-f', 'flac'],
      withCover: true,
    },
    { name: 'M4A AAC (iTunes ilst)', file: 'in.m4a', args: ['-c:a', 'aac', '-f', 'ipod'], withCover: true },
    { name: 'M4A ALAC (iTunes ilst)', file: 'alac.m4a', args: ['-c:a', 'alac', '-f', 'ipod'], withCover: false },
    { name: 'Ogg Vorbis', file: 'in.ogg', args: ['-c:a', 'libvorbis', '-f', 'ogg'], withCover: false },
    { name: 'Opus', file: 'in.opus', args: ['-c:a', 'libopus', '-f', 'opus'], withCover: false },
    { name: 'WAV (LIST/INFO)', file: 'in.wav', args: ['-c:a', 'pcm_s16le', '-f', 'wav'], withCover: false },
    {
      name: 'AIFF (ID3 chunk)',
      file: 'in.aiff',
      args: ['-c:a', 'pcm_s16be', '-write_id3v2', '1', '-f', 'aiff'],
      withCover: false,
    },
    { name: 'WebM (Matroska tags)', file: 'in.webm', args: ['-c:a', 'libopus', '-f', 'webm'], withCover: false },
    {
      name: 'Matroska (Matroska tags)',
      file: 'in.mka',
      args: ['-c:a', 'libvorbis', '-f', 'matroska'],
      withCover: false,
    },
  ];
  for (const c of inputs) {
    test(`reads title, artist, album, track and year${c.withCover ? ' and the cover' : ''} from ${c.name}`, async () => {
      const path = join(dir, c.file);
      const pictureArgs = c.withCover
        ? ['-i', cover, '-map', '0:a', '-map', '1:v', '-c:v', 'copy', '-disposition:v', 'attached_pic']
        : [];
      runFfmpeg([...lavfi('sine=d=1'), ...pictureArgs, ...METADATA, ...c.args, path]);
      const decoded = await decodeFile(path);
      assert.equal(decoded.tags.title, SONG.title);
      assert.equal(decoded.tags.artist, SONG.artist);
      assert.equal(decoded.tags.album, SONG.album);
      assert.equal(decoded.tags.track, SONG.track);
      assert.equal(decoded.tags.year, SONG.year);
      if (c.withCover) assert.ok(decoded.tags.cover && decoded.tags.cover.data.length > 50, 'cover art missing');
    });
  }

  test('a file without tags gives none, and stems of it get none', async () => {
    const path = join(dir, 'plain.wav');
    runFfmpeg([...lavfi('sine=d=1'), '-fflags', '+bitexact', '-map_metadata', '-1', path]);
    const { tags } = await readTags(path);
    assert.deepEqual(tags, {});
    assert.deepEqual(stemTags(tags, 'vocals'), {});
  });

  for (const o of WRITTEN_OUTPUTS) {
    test(`a ${o.format} ${o.bitDepth} stem carries the tags and cover, for this app and for ffprobe, and decodes whole`, async () => {
      const { readFileSync } = await import('node:fs');
      const png = readFileSync(cover);
      const tags: AudioTags = stemTags({ ...SONG, trackCount: 12, cover: { mime: 'image/png', data: png } }, 'vocals');
      const path = join(dir, `stem-${o.bitDepth}.${o.format}`);
      const audio = [new Float32Array(44101).map((_, i) => 0.3 * Math.sin(i / 10)), new Float32Array(44101)];
      await writeAudioFile(path, audio, {
        format: o.format,
        bitDepth: o.bitDepth,
        sampleRate: 44100,
        channels: 2,
        tags,
      });
      const back = await decodeFile(path);
      assert.equal(back.channels[0].length, 44101);
      assert.equal(back.tags.title, `${SONG.title} (vocals)`);
      assert.equal(back.tags.artist, SONG.artist);
      assert.equal(back.tags.album, SONG.album);
      assert.equal(back.tags.track, SONG.track);
      assert.equal(back.tags.year, SONG.year);
      assert.deepEqual(back.tags.cover?.data, Uint8Array.from(png));
      const p = probe(path);
      assert.equal(p.tags.title, `${SONG.title} (vocals)`);
      assert.equal(p.tags.artist, SONG.artist);
      assert.equal(p.tags.album, SONG.album);
      assert.match(p.tags.track, /^3(\/12)?$/);
      assert.equal(p.tags.date, String(SONG.year));
      assert.ok(p.picture, 'ffprobe sees no cover');
      if (o.format === 'flac') {
        // The metadata chain: STREAMINFO first, exactly one VORBIS_COMMENT, the last-block flag on the last block
        // only, and the first frame's sync code right after it.
        const b = readFileSync(path);
        const types: number[] = [];
        const lastFlags: boolean[] = [];
        let at = 4;
        for (let last = false; !last;) {
          last = (b[at] & 0x80) !== 0;
          types.push(b[at] & 0x7f);
          lastFlags.push(last);
          at += 4 + b.readUIntBE(at + 1, 3);
        }
        assert.equal(types[0], 0, 'STREAMINFO first');
        assert.equal(types.filter((t) => t === 4).length, 1, `one VORBIS_COMMENT, got block types ${types}`);
        assert.ok(types.includes(6), 'a PICTURE block');
        assert.deepEqual(
          lastFlags.map((f, i) => f === (i === lastFlags.length - 1)),
          lastFlags.map(() => true),
        );
        assert.equal(b[at], 0xff, 'frame sync after the metadata');
        assert.equal(b[at + 1] & 0xfe, 0xf8, 'frame sync after the metadata');
      }
    });
  }

  test('control characters in tags (terminal escapes) are replaced by spaces', async () => {
    const path = join(dir, 'escape.mp3');
    const evil = { title: 'Evil\x1b]0;pwned\x07 Song', artist: 'Tab\tBand' };
    await writeAudioFile(path, [new Float32Array(4410)], {
      format: 'mp3',
      bitDepth: 16,
      sampleRate: 44100,
      channels: 1,
      tags: evil,
    });
    const { tags } = await readTags(path);
    assert.equal(tags.title, 'Evil ]0;pwned  Song');
    assert.equal(tags.artist, 'Tab Band');
  });

  test('a cover whose bytes are not JPEG or PNG is left out with a notice, and stems still get written', async () => {
    // An APIC frame that says image/jpeg but holds other bytes, as some taggers write.
    const apic = Buffer.concat([
      Buffer.from('\x00image/jpeg\x00\x03\x00', 'latin1'),
      Buffer.from('....ftypavif', 'latin1'),
      Buffer.alloc(500, 7),
    ]);
    const title = Buffer.from('\x03Bad Cover', 'latin1');
    const frame = (id: string, body: Buffer) => {
      const h = Buffer.alloc(10);
      h.write(id, 0, 'latin1');
      h.writeUInt32BE(body.length, 4);
      return Buffer.concat([h, body]);
    };
    const body = Buffer.concat([frame('TIT2', title), frame('APIC', apic)]);
    const size = Buffer.from([
      (body.length >> 21) & 127,
      (body.length >> 14) & 127,
      (body.length >> 7) & 127,
      body.length & 127,
    ]);
    const path = join(dir, 'badcover.mp3');
    runFfmpeg([...lavfi('sine=d=0.5'), '-fflags', '+bitexact', '-map_metadata', '-1', '-write_xing', '0', path]);
    const { readFileSync } = await import('node:fs');
    writeFileSync(path, Buffer.concat([Buffer.from('ID3\x03\x00\x00', 'latin1'), size, body, readFileSync(path)]));
    const decoded = await decodeFile(path);
    assert.equal(decoded.tags.title, 'Bad Cover');
    assert.equal(decoded.tags.cover, undefined);
    assert.ok(
      decoded.notices.some((n) => n.includes('not a JPEG or PNG')),
      decoded.notices.join('; '),
    );
    for (const format of ['wav', 'mp3'] as const) {
      await writeAudioFile(join(dir, `from-badcover.${format}`), decoded.channels, {
        format,
        bitDepth: 16,
        sampleRate: decoded.sampleRate,
        channels: decoded.channels.length,
        tags: stemTags(decoded.tags, 'vocals'),
      });
    }
  });

  test('a mix is titled after the song and its label, keeping the other tags', () => {
    const stem = stemTags({ ...SONG }, 'vocals');
    assert.deepEqual(mixTags(stem, SONG.title, 'karaoke'), { ...SONG, title: `${SONG.title} (karaoke)` });
    assert.deepEqual(mixTags({ artist: 'A' }, undefined, 'mix'), { artist: 'A' });
  });

  test('a damaged tag does not stop decoding; it is a notice', async () => {
    const path = join(dir, 'odd.wav');
    await writeAudioFile(path, [new Float32Array(1000)], {
      format: 'wav',
      bitDepth: 16,
      sampleRate: 44100,
      channels: 1,
      tags: { ...SONG },
    });
    const { readFileSync } = await import('node:fs');
    const b = readFileSync(path);
    const id3 = b.indexOf('id3 ');
    b.fill(0xff, id3 + 8, id3 + 40); // the ID3 tag inside the chunk loses its header
    writeFileSync(path, b);
    const decoded = await decodeFile(path);
    assert.equal(decoded.channels[0].length, 1000);
    assert.ok(
      decoded.notices.some((n) => n.includes('tags')),
      decoded.notices.join('; '),
    );
  });
});
