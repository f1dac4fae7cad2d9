// `separate --preset ID --mix`: besides the stems, the CLI writes the mix the preset is made for next to them, and
// that mix is exactly the preset-gain-weighted sum of the stems it wrote (muted stems left out).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { PRACTICE_GAIN_DB } from '../../src-main/engine/separate/presets.ts';
import { SONG_MARK } from '../../src-main/engine/separate/stem-folder.ts';
import { makeSong } from '../fixtures/audio.ts';
import { runCli, separateOne, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';

describe('xumx-studio separate --preset --mix', { skip }, () => {
  let song: string;
  let models: string;

  before(async () => {
    models = testModel().root;
    song = join(tempDir('song'), 'Mix Song.wav');
    await makeSong(song, { seconds: 6, seed: 21, tags: { title: 'Mix Song', artist: 'CLI Band', track: 7 } });
  });

  async function separateWithMix(...flags: string[]) {
    const { file, stems } = await separateOne(song, models, '--mix', ...flags);
    const mix = file.mix;
    assert.ok(mix, 'the preset mix is written');
    return { file: { ...file, mix }, stems, mix: (await decodeFile(mix)).channels };
  }

  /** Largest |mix - Σ gain·stem| over every sample, the sum taken in double precision. */
  function worstError(
    mix: Float32Array[],
    stems: Record<string, Float32Array[]>,
    gains: Record<string, number>,
  ): number {
    let worst = 0;
    mix.forEach((ch, c) => {
      for (let i = 0; i < ch.length; i++) {
        let want = 0;
        for (const [s, g] of Object.entries(gains)) want += g * stems[s][c][i];
        worst = Math.max(worst, Math.abs(ch[i] - want));
      }
    });
    return worst;
  }

  test("writes the practice preset's mix next to the stems: every stem summed, the practised one at -12 dB", async () => {
    const { file, stems, mix } = await separateWithMix('--preset', 'practice-vocals');
    assert.equal(basename(file.mix), 'Mix Song.practice-vocals.mix.wav');
    assert.equal(dirname(file.mix), dirname(file.stems.vocals));
    assert.deepEqual(Object.keys(stems).sort(), ['bass', 'drums', 'other', 'vocals']);
    assert.equal(mix.length, stems.vocals.length);
    assert.equal(mix[0].length, stems.vocals[0].length);
    const gains = { vocals: 10 ** (PRACTICE_GAIN_DB / 20), drums: 1, bass: 1, other: 1 };
    assert.ok(
      worstError(mix, stems, gains) <= 1e-6,
      `mix differs from the weighted sum by ${worstError(mix, stems, gains)}`,
    );
    // Not simply the plain sum: the vocals really are quieter in it.
    assert.ok(worstError(mix, stems, { vocals: 1, drums: 1, bass: 1, other: 1 }) > 1e-4);
    assert.deepEqual(
      readdirSync(dirname(file.mix)).filter((n) => n.startsWith('.') && n !== SONG_MARK),
      [],
      'no temporary file left behind',
    );
    // The song's tags travel: each stem and the mix are titled after the song.
    assert.deepEqual((await decodeFile(file.stems.vocals)).tags, {
      title: 'Mix Song (vocals)',
      artist: 'CLI Band',
      track: 7,
    });
    assert.deepEqual((await decodeFile(file.mix)).tags, {
      title: 'Mix Song (practice-vocals)',
      artist: 'CLI Band',
      track: 7,
    });
  });

  test('leaves the muted stem out of the karaoke mix and keeps the residual stem in it', async () => {
    const { file, stems, mix } = await separateWithMix('--preset', 'karaoke', '--residual');
    assert.equal(basename(file.mix), 'Mix Song.karaoke.mix.wav');
    assert.ok(existsSync(file.stems.residual));
    const gains = { drums: 1, bass: 1, other: 1, residual: 1 };
    assert.ok(
      worstError(mix, stems, gains) <= 1e-6,
      `mix differs from the stems without vocals by ${worstError(mix, stems, gains)}`,
    );
    assert.ok(worstError(mix, stems, { ...gains, vocals: 1 }) > 1e-4, 'the vocals are not in it');
  });

  test('writes the stem file and the mix of a song whose name takes 250 bytes, under names within 255 bytes', async () => {
    const long = join(tempDir('song'), `${'音'.repeat(83)}a.wav`);
    await makeSong(long, { seconds: 2, seed: 22 });
    const bytes = (s: string) => Buffer.byteLength(basename(s));
    for (const flags of [
      ['--preset', 'karaoke', '--mix'],
      ['--format', 'stem'],
    ]) {
      const run = await runCli([
        'separate',
        long,
        '--out',
        tempDir('out'),
        '--models-dir',
        models,
        '--ep',
        'cpu',
        '--json',
        ...flags,
      ]);
      const [file] = JSON.parse(run.stdout).files;
      assert.equal(file.ok, true, JSON.stringify(file.error));
      assert.equal(run.code, 0, run.stderr);
      const written: string[] = file.stemFile ? [file.stemFile] : [file.mix, dirname(file.mix)];
      for (const path of written) {
        assert.ok(existsSync(path), path);
        assert.ok(bytes(path) <= 255, `${bytes(path)} bytes: ${path}`);
        assert.ok(basename(path).startsWith('音'.repeat(50)), path);
      }
    }
  });

  test('says on the terminal that a file failed when its mix cannot be written, though its stems were', async () => {
    const out = tempDir('out');
    // The song's own stem folder, where a folder stands in the mix's place.
    const stems = join(out, 'Mix Song');
    mkdirSync(join(stems, 'Mix Song.karaoke.mix.wav'), { recursive: true });
    writeFileSync(join(stems, SONG_MARK), realpathSync(song));
    const run = await runCli([
      'separate',
      song,
      '--out',
      out,
      '--models-dir',
      models,
      '--ep',
      'cpu',
      '--preset',
      'karaoke',
      '--mix',
    ]);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stdout, /✔/, 'not reported as separated');
    assert.match(run.stderr, /✘ .*Mix Song\.wav: .*Mix Song\.karaoke\.mix\.wav/);
  });
});
