// Test helper: a model folder that follows the contract (manifest.json + a tiny ONNX mapping mix_mag to est_mag),
// written with the converter's own graph builder. Its weights separate nothing; it only exercises the file checks.
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { OnnxGraphBuilder } from '../../convert/onnx-graph.ts';

export interface FolderOptions {
  id?: string;
  inputName?: string;
  metrics?: Record<string, unknown>;
  /** Changes the manifest after the file's hash was taken. */
  manifestPatch?: Record<string, unknown>;
}

export function tinyNetwork(inputName = 'mix_mag'): Uint8Array {
  const g = new OnnxGraphBuilder('tiny');
  const x = g.input(inputName, ['batch', 2, 2049, 'frames']);
  g.output('est_mag', [4, 'batch', 2, 2049, 'frames']);
  const gains = g.weight('gains', [4, 1, 1, 1, 1], Float32Array.from([0.25, 0.25, 0.25, 0.25]));
  g.node('Mul', [gains, g.node('Unsqueeze', [x, g.int64s('axis0', [0])])], {}, 'est_mag');
  return g.toBytes(17, { name: 'test', version: '0' });
}

export async function writeModelFolder(dir: string, opts: FolderOptions = {}): Promise<{ dir: string; id: string }> {
  const id = opts.id ?? 'tiny-import';
  const onnx = tinyNetwork(opts.inputName);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.onnx'), onnx);
  const manifest = {
    id,
    name: `Tiny ${id}`,
    architecture: 'test',
    sources: ['bass', 'drums', 'vocals', 'other'],
    sample_rate: 44100,
    n_fft: 4096,
    hop: 1024,
    file: 'model.onnx',
    sha256: createHash('sha256').update(onnx).digest('hex'),
    size: onnx.byteLength,
    license: 'MIT',
    provenance: 'built by a test',
    metrics: opts.metrics ?? {},
    ...opts.manifestPatch,
  };
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir, id };
}
