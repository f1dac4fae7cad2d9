// Shared set-up of the converter tests: random weight files in the official layouts (written by Debian's python3
// with h5py/torch), reference forward passes, and reading raw float32 files.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';

export const root = new URL('../..', import.meta.url).pathname;
export const python = '/usr/bin/python3';

function probe(modules: string): boolean {
  return existsSync(python) && spawnSync(python, ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0;
}

export const hasH5py = probe('h5py, numpy');
export const hasTorch = probe('torch, numpy');

export function runPython(script: string, args: string[]): void {
  const r = spawnSync(python, [join(root, script), ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`${script} failed (${r.status}): ${r.stderr}`);
}

/** A random nnabla X-UMX parameter file; extra args: --drop NAME, --reshape NAME, --hidden N, --dtype f2. */
export function writeNnablaFixture(path: string, seed: number, extra: string[] = []): void {
  runPython('training/tools/nnabla_xumx_fixture.py', [path, '--seed', String(seed), ...extra]);
}

export function readF32(path: string): Float32Array {
  const buf = readFileSync(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

export function writeF32(path: string, data: Float32Array): void {
  writeFileSync(path, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

/** A seeded magnitude spectrogram [batch, 2, 2049, frames]: non-negative, with a wide range like real music. */
export function randomMagnitude(batch: number, frames: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
  const x = new Float32Array(batch * 2 * 2049 * frames);
  for (let i = 0; i < x.length; i++) x[i] = 3 * next() ** 3;
  return x;
}

export async function runOnnx(
  path: string,
  input: Float32Array,
  dims: number[],
): Promise<{ data: Float32Array; dims: number[] }> {
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
  try {
    const out = await session.run({ mix_mag: new ort.Tensor('float32', input, dims) });
    const est = out.est_mag;
    return { data: est.data as Float32Array, dims: [...est.dims] };
  } finally {
    await session.release();
  }
}
