// Songs at the edges of what the engine takes, through the CLI: a single sample, fewer samples than one STFT
// frame needs, and sample rates from 8 to 384 kHz. Each is separated into stems of exactly the input's length
// at the input's rate.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { createStemWriter } from '../../src-main/engine/audio/stem-writer.ts';
import { mulberry32 } from '../../src-main/engine/audio/pcm.ts';
import { runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels() ? 'needs /usr/bin/python3 with torch and onnx' : false;

/** A 16-bit stereo WAV of exactly `frames` frames of noise at `rate`, written with the app's own writer. */
async function wavOf(dir: string, name: string, frames: number, rate: number): Promise<string> {
  const path = join(dir, name);
  const rand = mulberry32(frames + rate);
  const w = await createStemWriter(path, { format: 'wav', bitDepth: 16, sampleRate: rate, channels: 2 });
  await w.write([0, 1].map(() => Float32Array.from({ length: frames }, () => 0.5 * (rand() - 0.5))));
  await w.close();
  return path;
}

describe('xumx-studio separate at the edges of length and rate', { skip }, () => {
  let models: string;
  before(() => {
    models = testModel().root;
  });

  const cases: { name: string; frames: number; rate: number }[] = [
    ...[1, 100, 2047, 2048, 4097].map((frames) => ({ name: `len-${frames}.wav`, frames, rate: 44100 })),
    { name: 'one-sample-48k.wav', frames: 1, rate: 48000 },
    // Three samples at 384 kHz are no sample at all at the network's 44.1 kHz.
    { name: 'three-samples-384k.wav', frames: 3, rate: 384000 },
    { name: 'rate-8k.wav', frames: 1600, rate: 8000 },
    { name: 'rate-200k.wav', frames: 40000, rate: 200000 },
    { name: 'rate-384k.wav', frames: 76800, rate: 384000 },
  ];

  test(
    `separates ${cases.map((c) => `${c.frames} samples at ${c.rate / 1000} kHz`).join(', ')} into stems of exactly that length`,
    { timeout: 300_000 },
    async () => {
      const dir = tempDir('edges');
      const paths = await Promise.all(cases.map((c) => wavOf(dir, c.name, c.frames, c.rate)));
      const out = tempDir('edges-out');
      const r = await runCli(['separate', ...paths, '--out', out, '--models-dir', models, '--json'], {
        timeoutMs: 240_000,
      });
      assert.equal(r.signal, null, 'the CLI hung and was killed');
      const files = JSON.parse(r.stdout).files as any[];
      for (const [i, c] of cases.entries()) {
        const f = files.find((x) => x.input === paths[i]);
        assert.ok(f?.ok, `${c.name}: ${JSON.stringify(f?.error)}`);
        assert.equal(f.sampleRate, c.rate, c.name);
        for (const [stem, path] of Object.entries(f.stems as Record<string, string>)) {
          const a = await decodeFile(path as string);
          assert.equal(a.sampleRate, c.rate, `${c.name} ${stem}`);
          assert.equal(a.channels[0].length, c.frames, `${c.name} ${stem}: length`);
          assert.ok(
            a.channels.every((ch) => ch.every(Number.isFinite)),
            `${c.name} ${stem}: not finite`,
          );
        }
      }
      assert.equal(r.code, 0, r.stderr);
    },
  );

  test(
    'writes the MP3 stems of a 96 kHz song at 48 kHz, as long as the song, and says so',
    { timeout: 120_000 },
    async () => {
      const song = await wavOf(tempDir('mp3-rate'), 'hires.wav', 96000, 96000);
      const r = await runCli(
        ['separate', song, '--out', tempDir('mp3-rate-out'), '--models-dir', models, '--format', 'mp3', '--json'],
        { timeoutMs: 100_000 },
      );
      assert.equal(r.code, 0, r.stderr);
      const [f] = JSON.parse(r.stdout).files as any[];
      assert.ok(
        f.notices.some((n: string) => n.includes('96000 Hz') && n.includes('48000 Hz')),
        f.notices.join('; '),
      );
      for (const [stem, path] of Object.entries(f.stems as Record<string, string>)) {
        const a = await decodeFile(path);
        assert.equal(a.format, 'mp3', stem);
        assert.equal(a.sampleRate, 48000, stem);
        assert.equal(a.channels[0].length, 48000, `${stem}: one second, like the song`);
      }
    },
  );
});
