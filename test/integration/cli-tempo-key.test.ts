// `separate --tempo X --semitones N`: the stems and the preset mix come out X times as fast (length ÷ X, to the
// frame at the song's own rate) and N semitones higher or lower; tempo 1 and 0 semitones change no sample.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { createStemWriter } from '../../src-main/engine/audio/stem-writer.ts';
import { centsBetween, peakFrequency, sine } from '../../src-main/engine/dsp/testing/pitch.ts';
import { runCli, separateOne, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';
const RATE = 48000; // not the network's 44.1 kHz: the stretch runs after the stems are resampled back
const FRAMES = 4 * RATE + 123;

describe('xumx-studio separate --tempo --semitones', { skip }, () => {
  let song: string;
  let models: string;

  before(async () => {
    models = testModel().root;
    song = join(tempDir('song'), 'Sine Song.wav');
    const writer = await createStemWriter(song, { format: 'wav', bitDepth: '32f', sampleRate: RATE, channels: 2 });
    const tone = sine(440, RATE, FRAMES, 0.4);
    await writer.write([tone, tone.map((v) => v * 0.8)]);
    await writer.close();
  });

  async function separate(...flags: string[]) {
    const { file, audio, stems } = await separateOne(song, models, ...flags);
    for (const a of Object.values(audio)) assert.equal(a.sampleRate, RATE);
    return { file, stems };
  }

  test('writes stems and the preset mix at 80 % tempo, 2 semitones down: length ÷ 0.8 to the frame, the sine at the new pitch', async () => {
    const { file, stems } = await separate(
      '--tempo',
      '0.8',
      '--semitones',
      '-2',
      '--preset',
      'practice-vocals',
      '--mix',
    );
    const want = Math.round(FRAMES / 0.8);
    for (const [s, ch] of Object.entries(stems))
      assert.equal(ch[0].length, want, `${s}: ${ch[0].length} frames, not ${want}`);
    assert.ok(file.mix, 'the preset mix is written');
    const mix = (await decodeFile(file.mix)).channels;
    assert.equal(mix[0].length, want);
    const sum = new Float32Array(want);
    for (const ch of Object.values(stems)) for (let i = 0; i < want; i++) sum[i] += ch[0][i];
    const expected = 440 * 2 ** (-2 / 12);
    for (const [what, x] of [
      ['stems summed', sum],
      ['mix', mix[0]],
    ] as const) {
      const mid = x.subarray(Math.floor(want / 2 - RATE / 2), Math.floor(want / 2 + RATE / 2));
      const f = peakFrequency(mid, RATE, expected * 0.95, expected * 1.05);
      assert.ok(
        Math.abs(centsBetween(f, expected)) < 5,
        `${what}: ${f.toFixed(2)} Hz, ${centsBetween(f, expected).toFixed(1)} cents from ${expected.toFixed(2)} Hz`,
      );
    }
  });

  test('keeps every stem sample for sample at tempo 1 and 0 semitones', async () => {
    const plain = await separate();
    const neutral = await separate('--tempo', '1', '--semitones', '0');
    for (const s of Object.keys(plain.stems)) {
      for (const c of [0, 1]) assert.deepEqual(neutral.stems[s][c], plain.stems[s][c], `${s} channel ${c}`);
    }
    assert.equal(plain.stems.vocals[0].length, FRAMES);
  });

  test('refuses a tempo out of range with a usage error, writing nothing', async () => {
    const out = tempDir('out');
    const run = await runCli(['separate', song, '--out', out, '--models-dir', models, '--tempo', '3']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--tempo must be a number from 0.5 to 1.5.*not "3"/);
  });
});
