// training/export_quantized.py stores X-UMX's weight matrices as int4/int8 behind DequantizeLinear: onnxruntime-node
// (the app's version) must load that graph on the CPU and compute what the quantized torch model computes, and the
// CLI must separate with such a model folder.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { summarizeOnnx, weightPrecision } from '../../src-main/engine/model/onnx-scan.ts';
import { runCli } from './helpers/cli.ts';
import { maxRelativeDifference } from './helpers/compare.ts';
import { ROOT, canBuildModels } from './helpers/models.ts';

const python = '/usr/bin/python3';
const skip = canBuildModels() ? false : 'needs Debian python3 with torch and onnx (python3-torch, python3-onnx)';

function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** A models root holding one quantized random test network `id`; the torch reference io under <dir>/ref. */
function exportQuantized(id: string, args: string[]): { root: string; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'xumx-quant-'));
  const dir = join(root, id);
  const r = spawnSync(
    python,
    [
      join(ROOT, 'training/export_quantized.py'),
      '--out',
      dir,
      '--id',
      id,
      '--random-init',
      '--seed',
      '0',
      '--hidden',
      '16',
      '--reference-io',
      join(root, 'ref'),
      ...args,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `export failed: ${r.stderr}`);
  chmodSync(root, 0o755);
  return { root, dir };
}

/** The largest relative difference from the torch reference; `foldIntegers` opens the file as the engine does. */
async function parity(root: string, dir: string, foldIntegers = false): Promise<number> {
  const io = JSON.parse(readFileSync(join(root, 'ref', 'io.json'), 'utf8')) as { input: number[]; output: number[] };
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
    executionProviders: ['cpu'],
    ...(foldIntegers ? { extra: { session: { disable_quant_qdq: '1' } } } : {}),
  });
  try {
    const result = await session.run({
      mix_mag: new ort.Tensor('float32', readF32(join(root, 'ref', 'input.f32')), io.input),
    });
    assert.deepEqual([...result.est_mag.dims], io.output);
    return maxRelativeDifference(result.est_mag.data as Float32Array, readF32(join(root, 'ref', 'output.f32')));
  } finally {
    await session.release();
  }
}

/** A 2 s stereo 16-bit WAV of two tones, enough for a few network chunks. */
function toneWav(path: string): void {
  const rate = 44100;
  const n = rate * 2;
  const buf = Buffer.alloc(44 + n * 4);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(36 + n * 4, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20);
  buf.writeUInt16LE(2, 22);
  buf.writeUInt32LE(rate, 24);
  buf.writeUInt32LE(rate * 4, 28);
  buf.writeUInt16LE(4, 32);
  buf.writeUInt16LE(16, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(n * 4, 40);
  for (let i = 0; i < n; i++) {
    const v = 0.3 * Math.sin((2 * Math.PI * 110 * i) / rate) + 0.2 * Math.sin((2 * Math.PI * 880 * i) / rate);
    buf.writeInt16LE(Math.round(v * 32767), 44 + i * 4);
    buf.writeInt16LE(Math.round(v * 0.8 * 32767), 46 + i * 4);
  }
  writeFileSync(path, buf);
}

describe('quantized ONNX export of X-UMX', { skip }, () => {
  for (const bits of [4, 8]) {
    test(`a ${bits}-bit export keeps its weight matrices as int${bits} and reproduces the quantized torch model within 1e-4`, async () => {
      const { root, dir } = exportQuantized(`q${bits}`, ['--bits', String(bits)]);
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
        assert.equal(manifest.weights_dtype, `int${bits}`);
        assert.equal(manifest.quantization.bits_per_weight, bits);
        const summary = summarizeOnnx(readFileSync(join(dir, 'model.onnx')));
        assert.equal(summary.weights[`int${bits}`], manifest.quantization.quantized_weights);
        assert.match(weightPrecision(summary), new RegExp(`^int${bits}`));
        const diff = await parity(root, dir);
        assert.ok(diff <= 1e-4, `max relative difference ${diff}`);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  test('the two directions of an LSTM may be stored at different bitwidths and still match torch', async () => {
    const { root, dir } = exportQuantized('qmixed', ['--bits', '4', '--layer-bits', '_reverse=8,fc1=8']);
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.weights_dtype, 'int4+int8');
      const layers = new Map<string, number>(
        manifest.quantization.layers.map((l: { layer: string; bits: number }) => [l.layer, l.bits]),
      );
      assert.equal(layers.get('vocals.lstm.weight_ih_l1'), 4);
      assert.equal(layers.get('vocals.lstm.weight_ih_l1_reverse'), 8);
      const diff = await parity(root, dir);
      assert.ok(diff <= 1e-4, `max relative difference ${diff}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('2-bit matrices stored as int2 (opset 25) load, match torch within 1e-4 and are reported as int2', async () => {
    const { root, dir } = exportQuantized('qint2', ['--bits', '4', '--layer-bits', 'fc2=2,lstm.weight_hh=2', '--int2']);
    try {
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.weights_dtype, 'int2+int4');
      assert.equal(manifest.opset, 25);
      const summary = summarizeOnnx(readFileSync(join(dir, 'model.onnx')));
      const int2 = manifest.quantization.layers
        .filter((l: { storage: string }) => l.storage === 'int2')
        .reduce((n: number, l: { elements: number }) => n + l.elements, 0);
      assert.ok(int2 > 0);
      assert.equal(summary.weights.int2, int2);
      for (const fold of [false, true]) {
        const diff = await parity(root, dir, fold);
        assert.ok(diff <= 1e-4, `max relative difference ${diff} (integers folded at load: ${fold})`);
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('the int8-compute variant (LSTMs as DynamicQuantizeLSTM) runs through the engine options and stays near torch', async () => {
    const { root, dir } = exportQuantized('qlstm8', ['--bits', '4', '--layer-bits', '_reverse=8', '--int2']);
    try {
      const variant = join(root, 'qlstm8-int8');
      const r = spawnSync(python, [join(ROOT, 'training/tools/int8_lstm_variant.py'), dir, variant], {
        encoding: 'utf8',
      });
      assert.equal(r.status, 0, r.stderr);
      const summary = summarizeOnnx(readFileSync(join(variant, 'model.onnx')));
      assert.ok(summary.weights.int8 > 0, JSON.stringify(summary.weights));
      const exact = await parity(root, dir, true);
      const diff = await parity(root, variant, true);
      // the activations are quantized to 8 bits per run: near the quantized network (2.0e-3 on the bundled model)
      assert.ok(exact <= 1e-4 && diff <= 2e-2, `variant ${diff}, integers folded ${exact}`);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test('the CLI separates a song with a 4-bit model folder on the CPU', async () => {
    const { root } = exportQuantized('q4-cli', ['--bits', '4']);
    const work = mkdtempSync(join(tmpdir(), 'xumx-quant-song-'));
    try {
      const song = join(work, 'tones.wav');
      toneWav(song);
      const out = join(work, 'out');
      const run = await runCli(
        ['separate', song, '--out', out, '--models-dir', root, '--model', 'q4-cli', '--ep', 'cpu', '--json'],
        { env: { XUMX_STUDIO_SEGMENTS: '32,4,4' } },
      );
      assert.equal(run.code, 0, run.stderr);
      for (const source of ['bass', 'drums', 'vocals', 'other']) {
        assert.ok(existsSync(join(out, 'tones', `${source}.wav`)), `${source}.wav missing`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(root, { recursive: true, force: true });
    }
  });
});
