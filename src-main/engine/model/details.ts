// Everything the Models view shows about an installed model beyond its manifest: where it came from, its size on
// disk, the precision of its weights and the quality its manifest records.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelInfo } from '../types.ts';
import { modelDefaultControls } from '../dsp/controls.ts';
import { summarizeOnnx, weightPrecision } from './onnx-scan.ts';
import { readOrigin } from './origin.ts';
import { qualityFromMetrics } from './quality.ts';
import type { InstalledModel } from './registry.ts';

/** Bytes of every file under `dir` (links are not followed). */
export async function sizeOnDisk(dir: string): Promise<number> {
  let total = 0;
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await sizeOnDisk(p);
    else if (e.isFile()) total += (await stat(p).catch(() => null))?.size ?? 0;
  }
  return total;
}

// Keyed by path, size and time: reading a large network once per process is enough.
const precisionCache = new Map<string, string>();

export async function onnxPrecision(path: string): Promise<string> {
  let key: string;
  try {
    const st = await stat(path);
    key = `${path}\0${st.size}\0${st.mtimeMs}`;
  } catch {
    return 'unknown';
  }
  const hit = precisionCache.get(key);
  if (hit) return hit;
  let precision = 'unknown';
  try {
    precision = weightPrecision(summarizeOnnx(await readFile(path)));
  } catch {
    // A file that does not parse is reported by the load checks; here it just has no known precision.
  }
  precisionCache.set(key, precision);
  return precision;
}

export async function describeModel(m: InstalledModel): Promise<ModelInfo> {
  const { manifest } = m;
  return {
    id: manifest.id,
    name: manifest.name,
    architecture: manifest.architecture,
    sources: [...manifest.sources],
    sampleRate: manifest.sampleRate,
    license: manifest.license,
    provenance: manifest.provenance,
    dir: m.dir,
    bundled: m.bundled,
    origin: await readOrigin(m.dir, m.bundled),
    sizeOnDisk: await sizeOnDisk(m.dir),
    precision: await onnxPrecision(join(m.dir, manifest.file)),
    quality: qualityFromMetrics(manifest.metrics),
    defaultControls: modelDefaultControls(manifest),
    ...(Object.keys(manifest.metrics).length ? { metrics: manifest.metrics } : {}),
  };
}
