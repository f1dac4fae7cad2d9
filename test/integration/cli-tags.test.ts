// Tags travel from every input container that carries them, through `separate`, into every output format: each stem
// carries the song's title (with the stem's name), artist, album, track, year and cover picture.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { hasFfmpeg } from '../fixtures/audio.ts';
import { runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;

const SONG = { title: 'Nattens sång', artist: 'Ödets Orkester', album: 'Live', track: 5, year: 1999 };
const INPUTS: { file: string; args: string[]; cover: boolean }[] = [
  { file: 'bought.m4a', args: ['-c:a', 'aac', '-b:a', '192k', '-f', 'ipod'], cover: true },
  { file: 'ripped.mp3', args: ['-c:a', 'libmp3lame', '-id3v2_version', '3', '-f', 'mp3'], cover: true },
  { file: 'archived.flac', args: ['-c:a', 'flac', '-f', 'flac'], cover: true },
  { file: 'downloaded.webm', args: ['-c:a', 'libopus', '-f', 'webm'], cover: false },
  { file: 'exported.aiff', args: ['-c:a', 'pcm_s16be', '-write_id3v2', '1', '-f', 'aiff'], cover: false },
];

describe("xumx-studio separate keeps the song's tags", { skip }, () => {
  let models = '';
  let inputs = '';
  let cover: Buffer;

  before(() => {
    models = testModel().root;
    inputs = tempDir('tagged');
    const png = join(inputs, 'cover.png');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'color=c=blue:s=24x24:d=1',
      '-frames:v',
      '1',
      png,
    ]);
    cover = readFileSync(png);
    const meta = Object.entries(SONG).flatMap(([k, v]) => ['-metadata', `${k === 'year' ? 'date' : k}=${v}`]);
    for (const i of INPUTS) {
      const pic = i.cover
        ? ['-i', png, '-map', '0:a', '-map', '1:v', '-c:v', 'copy', '-disposition:v', 'attached_pic']
        : [];
      execFileSync('ffmpeg', [
        '-v',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'sine=d=2:f=330',
        '-ac',
        '2',
        ...pic,
        ...meta,
        ...i.args,
        join(inputs, i.file),
      ]);
    }
  });

  for (const format of ['wav', 'flac', 'mp3'] as const) {
    test(`into ${format} stems`, async () => {
      const run = await runCli([
        'separate',
        ...INPUTS.map((i) => join(inputs, i.file)),
        '--out',
        tempDir('out'),
        '--models-dir',
        models,
        '--ep',
        'cpu',
        '--format',
        format,
        '--json',
      ]);
      assert.equal(run.code, 0, run.stderr);
      const files = JSON.parse(run.stdout).files as {
        input: string;
        stems: Record<string, string>;
        title?: string;
        artist?: string;
      }[];
      for (const i of INPUTS) {
        const r = files.find((f) => f.input === join(inputs, i.file))!;
        assert.equal(r.title, SONG.title, i.file);
        assert.equal(r.artist, SONG.artist, i.file);
        for (const [stem, path] of Object.entries(r.stems)) {
          const { tags } = await decodeFile(path);
          const { cover: got, ...text } = tags;
          assert.deepEqual(text, { ...SONG, title: `${SONG.title} (${stem})` }, `${i.file} → ${stem}.${format}`);
          if (i.cover) assert.deepEqual(got?.data, Uint8Array.from(cover), `${i.file} → ${stem}.${format}: cover`);
        }
      }
    });
  }
});
