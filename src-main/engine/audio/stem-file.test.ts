// writeStemFile on its own: exact lengths whatever the song's length, rates AAC cannot store, odd tags.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasFfmpeg, tempDir } from '../../../test/fixtures/audio.ts';
import { cutRegion } from './cut-region.ts';
import { decodeFile } from './decode.ts';
import { stemFileFromStemFiles, writeStemFile, type StemAudio } from './stem-file.ts';
import { writeAudioFile } from './stem-writer.ts';
import { mixTags, type AudioTags } from './tags.ts';
import { stemFileCodec } from './stem-file-layout.ts';

const STEM_FILE_AAC = stemFileCodec('aac', 16).codec;

const noProbe = !hasFfmpeg() && 'ffprobe is not installed';

function stems(frames: number, rate: number): Record<string, StemAudio> {
  const out: Record<string, StemAudio> = {};
  ['drums', 'bass', 'other', 'vocals'].forEach((s, k) => {
    out[s] = {
      sampleRate: rate,
      channels: [0, 1].map((c) =>
        Float32Array.from({ length: frames }, (_, i) => 0.1 * Math.sin((i + c) * 0.01 * (k + 1))),
      ),
    };
  });
  return out;
}

describe('writeStemFile', () => {
  let dir = '';
  before(() => {
    dir = tempDir('xumx-stemfile-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const frames of [1, 1023, 44_101, 132_307]) {
    test(`an AAC stem file of ${frames} frames decodes to exactly ${frames} frames`, async () => {
      const path = join(dir, `len${frames}.stem.mp4`);
      await writeStemFile(path, stems(frames, 44100), { codec: STEM_FILE_AAC });
      assert.equal((await decodeFile(path)).channels[0].length, frames);
    });
  }

  test('a 192 kHz song becomes a 48 kHz AAC stem file, and says so', async () => {
    const path = join(dir, 'hires.stem.mp4');
    const notices = await writeStemFile(path, stems(19_200, 192_000), { codec: STEM_FILE_AAC });
    assert.ok(
      notices.some((n) => n.includes('48000 Hz')),
      notices.join('; '),
    );
    const back = await decodeFile(path);
    assert.equal(back.sampleRate, 48_000);
    assert.equal(back.channels[0].length, 4_800);
  });

  test('a track number too large for MP4 is left out instead of failing the file', { skip: noProbe }, async () => {
    const path = join(dir, 'track.stem.mp4');
    await writeStemFile(path, stems(4410, 44100), {
      codec: { name: 'alac', bitDepth: 16 },
      tags: { title: 'Long Album', track: 70_000 },
    });
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_format', '-of', 'json', path]).toString());
    assert.equal(probe.format.tags.title, 'Long Album');
    assert.equal(probe.format.tags.track, undefined);
  });

  test('stems missing a source are refused before anything is written', async () => {
    const { vocals: _vocals, ...three } = stems(100, 44100);
    const before = readdirSync(dir).sort();
    await assert.rejects(
      writeStemFile(join(dir, 'three.stem.mp4'), three, { codec: STEM_FILE_AAC }),
      (e: { code: string }) => e.code === 'BAD_ARGUMENT',
    );
    assert.deepEqual(readdirSync(dir).sort(), before);
  });

  test('stems that are not all stereo, at one rate, of one length are refused naming the stem that differs', async () => {
    const cases: [string, (a: Record<string, StemAudio>) => void, string][] = [
      [
        'mono',
        (a) => (a.other.channels = [a.other.channels[0]]),
        'the other stem has 1 channel; a stem file takes stereo stems',
      ],
      [
        'rate',
        (a) => (a.vocals.sampleRate = 48000),
        'the vocals stem is at 48000 Hz, the drums stem at 44100 Hz; the stems of a stem file share one rate',
      ],
      [
        'length',
        (a) => (a.drums.channels = a.drums.channels.map((c) => c.subarray(1))),
        'the drums stem has 99 frames, the bass stem 100; the stems of a stem file are one length',
      ],
    ];
    const before = readdirSync(dir).sort();
    for (const [what, change, reason] of cases) {
      const audio = stems(100, 44100);
      change(audio);
      const out = join(dir, `${what}.stem.mp4`);
      await assert.rejects(writeStemFile(out, audio, { codec: STEM_FILE_AAC }), {
        code: 'BAD_ARGUMENT',
        message: `${out}: ${reason}`,
      });
    }
    assert.deepEqual(readdirSync(dir).sort(), before);
  });

  test('a cancel between chunks leaves nothing behind', async () => {
    const before = readdirSync(dir).sort();
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      writeStemFile(join(dir, 'cancelled.stem.mp4'), stems(200_000, 44100), {
        codec: STEM_FILE_AAC,
        signal: controller.signal,
      }),
      (e: { code: string }) => e.code === 'CANCELLED',
    );
    assert.deepEqual(readdirSync(dir).sort(), before);
  });
});

describe('stemFileFromStemFiles', () => {
  let dir = '';
  before(() => {
    dir = tempDir('xumx-stemfile-files-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a stem file of a region of the song holds exactly that part of the whole song's stem file", async () => {
    const files: Record<string, string> = {};
    for (const [source, audio] of Object.entries(stems(30_000, 44100))) {
      files[source] = join(dir, `${source}.wav`);
      await writeAudioFile(files[source], audio.channels, {
        format: 'wav',
        bitDepth: '32f',
        sampleRate: 44100,
        channels: 2,
      });
    }
    const lossless = { codec: { name: 'alac', bitDepth: 24 } as const };
    await stemFileFromStemFiles(files, join(dir, 'whole.stem.mp4'), lossless);
    await stemFileFromStemFiles(files, join(dir, 'part.stem.mp4'), {
      ...lossless,
      region: { start: 0.1, end: 0.4567 },
    });
    const whole = await decodeFile(join(dir, 'whole.stem.mp4'));
    const part = await decodeFile(join(dir, 'part.stem.mp4'));
    const [from, to] = [Math.round(0.1 * 44100), Math.round(0.4567 * 44100)];
    for (let c = 0; c < 2; c++) assert.deepEqual(part.channels[c], whole.channels[c].slice(from, to), `channel ${c}`);
  });

  test('reading the stem files a piece at a time writes, to the byte, the file of the whole stems', async () => {
    // A residual stem (folded into "other"), a region across chunks, and AAC at a rate it cannot store (resampled).
    for (const [rate, frames, codec, region] of [
      [44100, 150_000, { name: 'alac', bitDepth: 16 } as const, { start: 0.2, end: 3.1 }],
      [192_000, 200_000, STEM_FILE_AAC, undefined],
    ] as const) {
      const files: Record<string, string> = {};
      const all = { ...stems(frames, rate), residual: stems(frames, rate).drums };
      for (const [source, audio] of Object.entries(all)) {
        files[source] = join(dir, `${rate}-${source}.wav`);
        await writeAudioFile(files[source], audio.channels, {
          format: 'wav',
          bitDepth: '32f',
          sampleRate: rate,
          channels: 2,
          tags: { title: `a - ${source}`, artist: 'The Stems' },
        });
      }
      const streamed = join(dir, `${rate}-streamed.stem.mp4`);
      await stemFileFromStemFiles(files, streamed, { codec, songTitle: 'a', ...(region ? { region } : {}) });
      const whole: Record<string, StemAudio & { tags: AudioTags }> = {};
      for (const [source, file] of Object.entries(files)) whole[source] = cutRegion(await decodeFile(file), region);
      const reference = join(dir, `${rate}-whole.stem.mp4`);
      await writeStemFile(reference, whole, { codec, tags: mixTags(whole.drums.tags, 'a') });
      assert.ok(readFileSync(streamed).equals(readFileSync(reference)), `${rate} Hz ${codec.name}`);
    }
  });

  test('reads the stem files in step, about a chunk of each at a time, however long the song', async () => {
    const frames = 400_000;
    const audio = stems(frames, 44100);
    const given: Record<string, number> = {};
    let widest = 0;
    const decode = async (path: string) => {
      const { channels } = audio[path];
      given[path] = 0;
      async function* pieces() {
        for (let at = 0; at < frames; at += 4096) {
          given[path] += Math.min(4096, frames - at);
          widest = Math.max(widest, Math.max(...Object.values(given)) - Math.min(...Object.values(given)));
          yield channels.map((c) => c.slice(at, at + 4096));
        }
      }
      return { sampleRate: 44100, frames, pieces: pieces() };
    };
    const files = Object.fromEntries(Object.keys(audio).map((s) => [s, s]));
    const path = join(dir, 'in-step.stem.mp4');
    await stemFileFromStemFiles(files, path, { codec: { name: 'alac', bitDepth: 16 }, decode });
    assert.equal((await decodeFile(path)).channels[0].length, frames);
    assert.ok(widest <= (1 << 16) + 4096, `no stem is read more than a chunk ahead of another (${widest} frames were)`);
  });

  test('refuses a stem a frame longer than the others when AAC resamples the stems to a lower rate', async () => {
    // 192 kHz to AAC's 48 kHz: 100,001 and 100,000 frames both become 25,000, yet the stems differ.
    const audio = stems(100_000, 192_000);
    audio.bass.channels = audio.bass.channels.map((c) => Float32Array.of(...c, 0));
    // Read without the length a header gives (as FLAC is): only reading them tells that the stems differ.
    const decode = async (path: string) => ({
      sampleRate: 192_000,
      pieces: (async function* () {
        yield audio[path].channels;
      })(),
    });
    const files = Object.fromEntries(Object.keys(audio).map((s) => [s, s]));
    const before = readdirSync(dir).sort();
    await assert.rejects(stemFileFromStemFiles(files, join(dir, 'longer.stem.mp4'), { codec: STEM_FILE_AAC, decode }), {
      code: 'BAD_ARGUMENT',
      message: 'bass: the bass stem has 100001 frames, the drums stem 100000; the stems of a stem file are one length',
      file: 'bass',
    });
    assert.deepEqual(readdirSync(dir).sort(), before);
  });

  test('refuses a stem that ends before the others, found as it ends, and leaves nothing', async () => {
    const audio = stems(150_000, 44100);
    audio.bass.channels = audio.bass.channels.map((c) => c.subarray(0, 100_000));
    // Read without the length a header gives: only reading them tells that the stems differ.
    const decode = async (path: string) => ({
      sampleRate: 44100,
      pieces: (async function* () {
        yield audio[path].channels;
      })(),
    });
    const files = Object.fromEntries(Object.keys(audio).map((s) => [s, s]));
    const before = readdirSync(dir).sort();
    await assert.rejects(stemFileFromStemFiles(files, join(dir, 'short.stem.mp4'), { codec: STEM_FILE_AAC, decode }), {
      code: 'BAD_ARGUMENT',
      message:
        'bass: the bass stem ends after 100000 frames, the drums stem goes on; the stems of a stem file are one length',
      file: 'bass',
    });
    assert.deepEqual(readdirSync(dir).sort(), before);
    // One stem longer than the three others: it is the one named.
    const longer = stems(100_000, 44100);
    longer.bass.channels = stems(150_000, 44100).bass.channels;
    await assert.rejects(
      stemFileFromStemFiles(files, join(dir, 'long.stem.mp4'), {
        codec: STEM_FILE_AAC,
        decode: async (path: string) => ({
          sampleRate: 44100,
          pieces: (async function* () {
            yield longer[path].channels;
          })(),
        }),
      }),
      {
        code: 'BAD_ARGUMENT',
        message:
          'bass: the bass stem goes on past 100000 frames, where the drums stem ends; the stems of a stem file are one length',
        file: 'bass',
      },
    );
    assert.deepEqual(readdirSync(dir).sort(), before);
  });
});
