// Test models built on demand with the training exporter (random weights, "test_only": true) and cached under
// test-output/, plus copies broken in one way each. Never written into models/.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
const CACHE = join(ROOT, 'test-output', 'test-models');
const PYTHON = '/usr/bin/python3';

/** Whether the exporter can run here (Debian's python3 with torch and onnx). */
export function canBuildModels(): boolean {
  try {
    execFileSync(PYTHON, ['-c', 'import torch, onnx'], { stdio: 'ignore' });
    return existsSync(join(ROOT, 'training', 'export_onnx.py'));
  } catch {
    return false;
  }
}

/**
 * A models root holding one random-weight X-UMX (`id`, hidden size `hidden`): <root>/<id>/{model.onnx,manifest.json}.
 * Built once and cached; parallel test files race safely (build in a temp folder, then rename).
 */
export function testModel(id = 'tiny-test', hidden = 16): { root: string; dir: string; id: string } {
  const root = join(CACHE, `${id}-h${hidden}`);
  const dir = join(root, id);
  if (!existsSync(join(dir, 'manifest.json'))) {
    mkdirSync(root, { recursive: true });
    const tmp = mkdtempSync(join(root, '.build-'));
    execFileSync(
      PYTHON,
      [
        join(ROOT, 'training', 'export_onnx.py'),
        '--out',
        tmp,
        '--id',
        id,
        '--random-init',
        '--seed',
        '0',
        '--hidden',
        String(hidden),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    chmodSync(tmp, 0o755); // tests also run the CLI as `nobody`, who must be able to read the model
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another test file finished first
    }
  }
  return { root, dir, id };
}

/**
 * A models root holding one random-weight X-UMX whose weight matrices are stored at `bits` (int4/int8 +
 * DequantizeLinear, training/export_quantized.py), with the quantized torch model's output on a seeded input in
 * <root>/ref (input.f32, output.f32, io.json). Built once and cached like testModel.
 */
export function quantizedTestModel(bits = 4, hidden = 16): { root: string; dir: string; id: string; ref: string } {
  const id = `tiny-int${bits}`;
  const root = join(CACHE, `${id}-h${hidden}`);
  const dir = join(root, id);
  const ref = join(root, 'ref');
  if (!existsSync(join(dir, 'manifest.json')) || !existsSync(join(ref, 'io.json'))) {
    mkdirSync(root, { recursive: true });
    const tmp = mkdtempSync(join(root, '.build-'));
    execFileSync(
      PYTHON,
      [
        join(ROOT, 'training', 'export_quantized.py'),
        '--out',
        join(tmp, id),
        '--id',
        id,
        '--random-init',
        '--seed',
        '0',
        '--hidden',
        String(hidden),
        '--bits',
        String(bits),
        '--reference-io',
        join(tmp, 'ref'),
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    chmodSync(tmp, 0o755);
    for (const part of [id, 'ref']) {
      try {
        renameSync(join(tmp, part), join(root, part));
      } catch {
        // another test file finished first
      }
    }
    rmSync(tmp, { recursive: true, force: true });
  }
  return { root, dir, id, ref };
}

export type BrokenKind =
  | 'missing-file'
  | 'corrupt-sha256'
  | 'bad-manifest'
  | 'wrong-input-name'
  | 'wrong-bins'
  | 'wrong-sources'
  | 'probe-shape';

/** A fresh models root with one model folder `broken`, broken as `kind`. */
export function brokenModel(kind: BrokenKind): { root: string; id: string } {
  const good = testModel();
  const root = mkdtempSync(join(CACHE, `.broken-${kind}-`));
  const dir = join(root, 'broken');
  const manifest = JSON.parse(readFileSync(join(good.dir, 'manifest.json'), 'utf8'));
  manifest.id = 'broken';
  mkdirSync(dir);
  if (kind === 'missing-file' || kind === 'corrupt-sha256' || kind === 'bad-manifest') {
    if (kind !== 'missing-file') cpSync(join(good.dir, 'model.onnx'), join(dir, 'model.onnx'));
    if (kind === 'corrupt-sha256') manifest.sha256 = createHash('sha256').update('something else').digest('hex');
    if (kind === 'bad-manifest') delete manifest.sources;
  } else {
    const onnx = join(dir, 'model.onnx');
    execFileSync(PYTHON, [join(ROOT, 'test', 'integration', 'helpers', 'make_onnx.py'), kind, onnx]);
    const bytes = readFileSync(onnx);
    manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
    manifest.size = bytes.length;
  }
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { root, id: 'broken' };
}
