// MP4/M4A/MOV, raw AAC, Matroska/WebM and stem files: each decodes to the original's exact length where the file
// records it (edit lists, iTunSMPB, Opus trimming), and a click placed at a known sample comes back at that sample.
// Fixtures are encoded by ffmpeg from a seeded noise signal with the click in it (tests only).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasFfmpeg, lavfi, runFfmpeg, tempDir } from '../../../test/fixtures/audio.ts';
import { floatWavFile } from '../../../test/fixtures/float-wav.ts';
import { appendToMoov, box, iTunesFreeform, iTunSmpbText, prependToMoov } from '../../../test/fixtures/mp4-edit.ts';
import { mulberry32 } from './pcm.ts';
import { decodeFile } from './decode.ts';

const skip = !hasFfmpeg() && 'ffmpeg is not installed';
const CLICK_AT = 30000;
const SECONDS = 2;

/** Stereo float WAV: quiet seeded noise (different per channel) with a full-scale click at CLICK_AT. */
function clickWav(path: string, rate: number, seed = 1): Float32Array[] {
  const n = SECONDS * rate;
  const rand = mulberry32(seed);
  const chans = [new Float32Array(n), new Float32Array(n)];
  for (let i = 0; i < n; i++) for (const c of chans) c[i] = 0.1 * (rand() * 2 - 1);
  chans[0][CLICK_AT] = 0.9;
  chans[1][CLICK_AT] = -0.9;
  floatWavFile(path, chans, rate);
  return chans;
}

/** The shift of `got` against `ref` (within ±maxLag) that correlates best around the click. */
function lagAtClick(got: Float32Array, ref: Float32Array, maxLag = 64): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    let s = 0;
    for (let i = CLICK_AT - 2048; i < CLICK_AT + 2048; i++) s += got[i + lag] * ref[i];
    if (s > bestScore) {
      bestScore = s;
      best = lag;
    }
  }
  return best;
}

function encode(src: string, out: string, args: string[]): string {
  runFfmpeg(['-i', src, ...args, out]);
  return out;
}

describe('compressed containers keep every sample in place', { skip }, () => {
  let dir = '';
  let src44 = '';
  let src48 = '';
  let ref44: Float32Array[] = [];
  let ref48: Float32Array[] = [];
  before(() => {
    dir = tempDir('xumx-media-');
    src44 = join(dir, 'click44.wav');
    src48 = join(dir, 'click48.wav');
    ref44 = clickWav(src44, 44100);
    ref48 = clickWav(src48, 48000);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const cases: {
    name: string;
    file: string;
    args: string[];
    rate: 44100 | 48000;
    format: string;
    exactLength: boolean;
  }[] = [
    {
      name: 'AAC-LC in M4A (edit list)',
      file: 'lc.m4a',
      args: ['-c:a', 'aac', '-b:a', '256k', '-f', 'ipod'],
      rate: 44100,
      format: 'aac',
      exactLength: true,
    },
    {
      name: 'AAC in MOV',
      file: 'q.mov',
      args: ['-c:a', 'aac', '-b:a', '256k', '-f', 'mov'],
      rate: 44100,
      format: 'aac',
      exactLength: true,
    },
    {
      name: 'ALAC in M4A',
      file: 'alac.m4a',
      args: ['-c:a', 'alac', '-f', 'ipod'],
      rate: 44100,
      format: 'alac',
      exactLength: true,
    },
    {
      name: 'Opus in WebM',
      file: 'o.webm',
      args: ['-c:a', 'libopus', '-b:a', '256k', '-f', 'webm'],
      rate: 48000,
      format: 'opus',
      exactLength: true,
    },
    {
      name: 'Opus in MP4',
      file: 'o.mp4',
      args: ['-c:a', 'libopus', '-b:a', '256k', '-f', 'mp4'],
      rate: 48000,
      format: 'opus',
      exactLength: true,
    },
    // Vorbis in Matroska records no end trimming: the decoded tail is as long as the last block (ffmpeg agrees).
    {
      name: 'Vorbis in Matroska',
      file: 'v.mka',
      args: ['-c:a', 'libvorbis', '-q:a', '8', '-f', 'matroska'],
      rate: 44100,
      format: 'vorbis',
      exactLength: false,
    },
    {
      name: 'FLAC in Matroska',
      file: 'f.mka',
      args: ['-c:a', 'flac', '-f', 'matroska'],
      rate: 44100,
      format: 'flac',
      exactLength: true,
    },
  ];
  for (const c of cases) {
    test(`${c.name}: the click comes back at its sample${c.exactLength ? ', at the original length' : ''}`, async () => {
      const path = encode(c.rate === 44100 ? src44 : src48, join(dir, c.file), c.args);
      const got = await decodeFile(path);
      const ref = c.rate === 44100 ? ref44 : ref48;
      assert.equal(got.format, c.format);
      assert.equal(got.sampleRate, c.rate);
      assert.equal(got.channels.length, 2);
      if (c.exactLength) assert.equal(got.channels[0].length, ref[0].length);
      else assert.ok(got.channels[0].length >= ref[0].length, `${got.channels[0].length} < ${ref[0].length}`);
      for (let ch = 0; ch < 2; ch++) assert.equal(lagAtClick(got.channels[ch], ref[ch]), 0, `channel ${ch}`);
    });
  }

  test('an MP4 video file gives its first audio track, in place', async () => {
    const path = join(dir, 'clip.mp4');
    runFfmpeg([
      ...lavfi('testsrc=s=64x48:r=10:d=2'),
      '-i',
      src44,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-c:v',
      'mpeg4',
      '-c:a',
      'aac',
      '-b:a',
      '256k',
      '-shortest',
      path,
    ]);
    const got = await decodeFile(path);
    assert.equal(got.format, 'aac');
    assert.equal(got.channels[0].length, ref44[0].length);
    assert.equal(lagAtClick(got.channels[0], ref44[0]), 0);
  });

  test('ALAC decodes to the very samples that were encoded (16-bit)', async () => {
    const s16 = encode(src44, join(dir, 's16.wav'), ['-c:a', 'pcm_s16le']);
    const got = await decodeFile(encode(s16, join(dir, 's16.m4a'), ['-c:a', 'alac', '-f', 'ipod']));
    const want = await decodeFile(s16);
    for (let ch = 0; ch < 2; ch++) assert.deepEqual(got.channels[ch], want.channels[ch]);
  });

  test('an M4A without an edit list is trimmed by its iTunSMPB tag', async () => {
    const raw = readFileSync(
      encode(src44, join(dir, 'noedit.m4a'), ['-c:a', 'aac', '-b:a', '256k', '-use_editlist', '0', '-f', 'ipod']),
    );
    // ffmpeg's AAC encoder leads with 1024 samples; the stream holds whole 1024-sample frames.
    const frames = ref44[0].length;
    const coded = Math.ceil((frames + 1024) / 1024) * 1024 + 1024;
    const tagged = join(dir, 'itunsmpb.m4a');
    writeFileSync(
      tagged,
      appendToMoov(raw, iTunesFreeform('iTunSMPB', iTunSmpbText(1024, coded - 1024 - frames, frames))),
    );
    const untagged = await decodeFile(join(dir, 'noedit.m4a'));
    assert.notEqual(
      lagAtClick(untagged.channels[0], ref44[0], 1100),
      0,
      'without the tag the lead-in stays (the test would prove nothing)',
    );
    const got = await decodeFile(tagged);
    assert.equal(got.channels[0].length, frames);
    assert.equal(lagAtClick(got.channels[0], ref44[0]), 0);
  });

  test('iTunSMPB is honoured wherever the tag sits in the index (before the tracks, after a chapter track)', async () => {
    const frames = ref44[0].length;
    const tag = iTunesFreeform('iTunSMPB', iTunSmpbText(1024, 888, frames));
    const raw = readFileSync(
      encode(src44, join(dir, 'noedit2.m4a'), ['-c:a', 'aac', '-b:a', '256k', '-use_editlist', '0', '-f', 'ipod']),
    );
    const first = join(dir, 'smpb-first.m4a');
    writeFileSync(first, prependToMoov(raw, tag));
    const chapters = join(dir, 'chapters.txt');
    writeFileSync(chapters, ';FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=1000\ntitle=One\n');
    const withChapter = join(dir, 'chap-noedit.m4a');
    runFfmpeg([
      '-i',
      src44,
      '-i',
      chapters,
      '-map_chapters',
      '1',
      '-c:a',
      'aac',
      '-b:a',
      '256k',
      '-use_editlist',
      '0',
      '-f',
      'ipod',
      withChapter,
    ]);
    const afterChapter = join(dir, 'smpb-chapter.m4a');
    writeFileSync(afterChapter, appendToMoov(readFileSync(withChapter), tag));
    for (const path of [first, afterChapter]) {
      const got = await decodeFile(path);
      assert.equal(got.channels[0].length, frames, path);
      assert.equal(lagAtClick(got.channels[0], ref44[0]), 0, path);
    }
  });

  test('a stem file (five audio tracks) separates its first track, the mixture, and says so', async () => {
    const others = [2, 3, 4, 5].map((seed) => {
      const p = join(dir, `stem${seed}.wav`);
      clickWav(p, 44100, seed);
      return p;
    });
    const path = join(dir, 'song.stem.mp4');
    runFfmpeg([
      '-i',
      src44,
      ...others.flatMap((p) => ['-i', p]),
      ...[0, 1, 2, 3, 4].flatMap((i) => ['-map', `${i}:a`]),
      '-c:a',
      'aac',
      '-b:a',
      '256k',
      '-f',
      'mp4',
      path,
    ]);
    const stemBox = box('udta', box('stem', Buffer.from(JSON.stringify({ version: 1, stems: [] }))));
    writeFileSync(path, appendToMoov(readFileSync(path), stemBox));
    const got = await decodeFile(path);
    assert.equal(got.channels[0].length, ref44[0].length);
    assert.equal(lagAtClick(got.channels[0], ref44[0]), 0);
    // The first track is the one with seed 1: it correlates with ref44, not with the other tracks' noise.
    let same = 0;
    for (let i = 0; i < 20000; i++) same += got.channels[0][i] * ref44[0][i];
    assert.ok(same / 20000 > (0.5 * 0.1 * 0.1) / 3, `correlation ${same / 20000}`);
    assert.ok(
      got.notices.some((n) => n.includes('stem file')),
      got.notices.join('; '),
    );
  });

  test('a WebM video whose sound is shorter than its picture gives the whole sound', async () => {
    const path = join(dir, 'clip.webm');
    runFfmpeg([
      ...lavfi('testsrc=s=64x48:r=10:d=4'),
      '-i',
      src48,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-c:v',
      'libvpx',
      '-c:a',
      'libopus',
      '-b:a',
      '256k',
      path,
    ]);
    const got = await decodeFile(path);
    assert.equal(got.channels[0].length, ref48[0].length);
    assert.equal(lagAtClick(got.channels[0], ref48[0]), 0);
  });

  test("raw AAC (ADTS) keeps the encoder's 1024-sample lead-in, as ffmpeg does, and says so", async () => {
    const path = encode(src44, join(dir, 'raw.aac'), ['-c:a', 'aac', '-b:a', '256k', '-f', 'adts']);
    const got = await decodeFile(path);
    assert.equal(got.format, 'aac');
    assert.equal(lagAtClick(got.channels[0], ref44[0], 1100), 1024);
    assert.ok(got.notices.some((n) => n.includes('encoder delay')));
  });

  test('raw AAC behind an ID3 tag decodes', async () => {
    const raw = readFileSync(encode(src44, join(dir, 'raw2.aac'), ['-c:a', 'aac', '-f', 'adts']));
    const tag = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 20, ...new Array(20).fill(0)]);
    const path = join(dir, 'tagged.aac');
    writeFileSync(path, Buffer.concat([tag, raw]));
    const got = await decodeFile(path);
    assert.equal(got.format, 'aac');
  });
});
