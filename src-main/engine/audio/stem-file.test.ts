// writeStemFile on its own: exact lengths whatever the song's length, rates AAC cannot store, odd tags.
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hasFfmpeg, tempDir } from '../../../test/fixtures/audio.ts';
import { decodeFile } from './decode.ts';
import { stemFileFromStemFiles, writeStemFile, type StemAudio } from './stem-file.ts';
import { writeAudioFile } from './stem-writer.ts';
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
});
