// The ONNX file that training/export_onnx.py writes must compute what the torch model computes: a seeded random
// X-UMX is exported, torch's output on a seeded input is written beside it, and onnxruntime-node must reproduce it.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { maxRelativeDifference } from './helpers/compare.ts';

const root = new URL('../..', import.meta.url).pathname;
const python = '/usr/bin/python3';
const hasTorch =
  existsSync(python) && spawnSync(python, ['-c', 'import torch, onnx'], { encoding: 'utf8' }).status === 0;
const skip = hasTorch ? false : 'needs Debian python3 with torch and onnx (python3-torch, python3-onnx)';

interface ReferenceIo {
  input: number[];
  output: number[];
}

function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function exportModel(dir: string, extra: string[]): void {
  const r = spawnSync(
    python,
    [
      join(root, 'training/export_onnx.py'),
      '--out',
      dir,
      '--id',
      'parity-test',
      '--random-init',
      '--seed',
      '0',
      '--hidden',
      '16',
      '--reference-io',
      join(dir, 'ref'),
      ...extra,
    ],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, `export failed: ${r.stderr}`);
}

async function runOnnx(dir: string): Promise<{ out: Float32Array; dims: readonly number[]; io: ReferenceIo }> {
  const io = JSON.parse(readFileSync(join(dir, 'ref', 'io.json'), 'utf8')) as ReferenceIo;
  const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), { executionProviders: ['cpu'] });
  try {
    const input = new ort.Tensor('float32', readF32(join(dir, 'ref', 'input.f32')), io.input);
    const result = await session.run({ mix_mag: input });
    const est = result.est_mag;
    return { out: est.data as Float32Array, dims: est.dims, io };
  } finally {
    await session.release();
  }
}

describe('ONNX export of X-UMX', { skip }, () => {
  test('onnxruntime reproduces the torch output within 1e-4 relative', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-parity-'));
    try {
      exportModel(dir, []);
      const { out, dims, io } = await runOnnx(dir);
      assert.deepEqual([...dims], io.output);
      const diff = maxRelativeDifference(out, readF32(join(dir, 'ref', 'output.f32')));
      assert.ok(diff <= 1e-4, `max relative difference ${diff}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('float16 weight storage keeps the torch output within float16 rounding', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-parity16-'));
    try {
      exportModel(dir, ['--fp16-weights']);
      const { out, io } = await runOnnx(dir);
      const diff = maxRelativeDifference(out, readF32(join(dir, 'ref', 'output.f32')));
      assert.equal(
        out.length,
        io.output.reduce((a, b) => a * b, 1),
      );
      assert.ok(diff <= 1e-2, `max relative difference ${diff}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the manifest describes the exported file and marks a random network as test-only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-manifest-'));
    try {
      exportModel(dir, []);
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      assert.equal(manifest.architecture, 'x-umx');
      assert.deepEqual(manifest.sources, ['bass', 'drums', 'vocals', 'other']);
      assert.equal(manifest.size, readFileSync(join(dir, manifest.file)).length);
      assert.equal(manifest.test_only, true);
      assert.equal(manifest.hidden_size, 16);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
