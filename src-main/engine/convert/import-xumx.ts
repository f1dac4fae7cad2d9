// nnabla X-UMX parameter file -> installed model folder (models/<id>/model.onnx + manifest.json), atomically:
// everything is written to a temporary folder beside the target and renamed into place when complete, so a
// failed or cancelled conversion leaves no half-installed model.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XumxError, asXumxError } from '../errors.ts';
import { openParameterFile } from './nnabla-h5.ts';
import { readXumxWeights, validateXumxParameters } from './nnabla-xumx.ts';
import type { PublishedWeights } from './official.ts';
import { XUMX_OPSET, buildXumxOnnx } from './xumx-onnx.ts';
import { ORIGIN_FILE, originText } from '../model/origin.ts';

export const CONVERTER_VERSION = '1';

export type ConvertStage = 'validate' | 'read' | 'build' | 'write';

export interface ImportOptions {
  /** The nnabla parameter file (x-umx.h5). */
  h5Path: string;
  /** Folder holding one folder per model; the model goes to <modelsDir>/<id>. */
  modelsDir: string;
  /** Identity, license, provenance and metrics of the weights. */
  source: PublishedWeights;
  /** Where the file came from, for the manifest (a URL or "local file"). */
  origin?: string;
  /** Recorded in the folder's origin.json: fetched by the app, or a file the user brought (default). */
  installedAs?: 'downloaded' | 'imported';
  /** The temporary folder the model is assembled in (beside the target); the caller removes it after a kill. */
  tmpDir?: string;
  onStage?: (stage: ConvertStage) => void;
  signal?: AbortSignal;
}

/** Where a conversion into `modelsDir` for `id` may assemble its folder before the rename into place. */
export function conversionTmpDir(modelsDir: string, id: string): string {
  return join(modelsDir, `.${id}.partial-${process.pid}-${Date.now()}`);
}

export interface ImportResult {
  id: string;
  dir: string;
  manifestPath: string;
  onnxPath: string;
  sha256: string;
  size: number;
  notes: string[];
}

export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function checkAborted(signal: AbortSignal | undefined, file: string): void {
  if (signal?.aborted) throw new XumxError('CANCELLED', `${file}: conversion cancelled`, file);
}

export async function importNnablaXumx(opts: ImportOptions): Promise<ImportResult> {
  const { h5Path, modelsDir, source, signal } = opts;
  opts.onStage?.('validate');
  const file = await openParameterFile(h5Path);
  let notes: string[];
  let onnx: Uint8Array;
  try {
    notes = validateXumxParameters(h5Path, file.parameters);
    checkAborted(signal, h5Path);
    opts.onStage?.('read');
    const weights = readXumxWeights(file);
    checkAborted(signal, h5Path);
    opts.onStage?.('build');
    onnx = buildXumxOnnx(weights, {
      producerVersion: CONVERTER_VERSION,
      metadata: { source: source.url, architecture: 'x-umx', sources: weights.sources.join(',') },
    });
  } catch (err) {
    if (err instanceof XumxError) throw err;
    throw new XumxError('CONVERT_FAILED', `${h5Path}: conversion failed (${(err as Error).message ?? err})`, h5Path, {
      cause: err,
    });
  } finally {
    file.close();
  }
  checkAborted(signal, h5Path);

  opts.onStage?.('write');
  const dir = join(modelsDir, source.id);
  const tmp = opts.tmpDir ?? conversionTmpDir(modelsDir, source.id);
  try {
    await mkdir(tmp, { recursive: true });
    const onnxPath = join(tmp, 'model.onnx');
    await writeFile(onnxPath, onnx, { signal });
    const sha256 = createHash('sha256').update(onnx).digest('hex');
    const h5Stat = await stat(h5Path);
    const manifest = {
      id: source.id,
      name: source.name,
      architecture: 'x-umx',
      sources: ['bass', 'drums', 'vocals', 'other'],
      sample_rate: 44100,
      n_fft: 4096,
      hop: 1024,
      file: 'model.onnx',
      sha256,
      size: onnx.byteLength,
      license: source.license,
      provenance: source.provenance,
      metrics: source.metrics,
      hidden_size: 512,
      max_bin: 1487,
      opset: XUMX_OPSET,
      converted_from: {
        format: 'nnabla parameters (HDF5)',
        origin: opts.origin ?? 'local file',
        file: source.fileName,
        sha256: await sha256File(h5Path, signal),
        size: h5Stat.size,
        converter: `xumx-studio convert ${CONVERTER_VERSION}`,
      },
    };
    await writeFile(join(tmp, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`, { signal });
    await writeFile(join(tmp, ORIGIN_FILE), originText(opts.installedAs ?? 'imported', opts.origin ?? h5Path), {
      signal,
    });
    checkAborted(signal, h5Path);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return {
      id: source.id,
      dir,
      manifestPath: join(dir, 'manifest.json'),
      onnxPath: join(dir, 'model.onnx'),
      sha256,
      size: onnx.byteLength,
      notes,
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof XumxError) throw err;
    const e = asXumxError(err, dir);
    if (e.code === 'CANCELLED')
      throw new XumxError('CANCELLED', `${h5Path}: conversion cancelled`, h5Path, { cause: err });
    throw e;
  }
}
