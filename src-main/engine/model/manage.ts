// Adding and removing user models: import an nnabla x-umx.h5 (converted on a worker thread), a model folder or a
// .zip of one (models/README.md), and remove a downloaded or imported model. Every change to the models folder is
// a rename of a complete folder, so a failed or cancelled import never leaves a half-installed model behind.
import { cp, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join, posix, resolve } from 'node:path';
import AdmZip from 'adm-zip';
import { XumxError, asXumxError } from '../errors.ts';
import { convertInWorker } from '../convert/convert-in-worker.ts';
import { ensureFreeSpace, type StatFs } from '../convert/disk-space.ts';
import type { ConvertStage, ImportOptions, ImportResult } from '../convert/import-xumx.ts';
import { hasHdf5Signature } from '../convert/nnabla-h5.ts';
import { XUMX_OFFICIAL, type PublishedWeights } from '../convert/official.ts';
import { parseManifestText, type ModelManifest } from './manifest.ts';
import { summarizeOnnx } from './onnx-scan.ts';
import { ORIGIN_FILE, originText } from './origin.ts';
import { bundledModelsDir, scanModels } from './registry.ts';
import { verifyModelFile } from './session.ts';
import { makeFolders } from '../folders.ts';

export interface ImportModelOptions {
  /** Where user models live: the model goes to <modelsDir>/<id>. */
  modelsDir: string;
  /** Every folder the app scans, to find an id that is taken by a bundled model. */
  modelDirs: string[];
  /** For an .h5 file: the id to install it under (default: the official weights' id and description). */
  id?: string;
  signal?: AbortSignal;
  onStage?: (stage: ConvertStage | 'unpack' | 'check' | 'copy') => void;
  convert?: (opts: ImportOptions) => Promise<ImportResult>;
  statfs?: StatFs;
}

export interface ImportedModel {
  id: string;
  dir: string;
  notes: string[];
}

const ZIP_SIGNATURE = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
/** A model zip holds a manifest, a network and a few notes; more than this is not a model. */
const MAX_ZIP_ENTRIES = 64;

/** The identity an .h5 gets when the user names another id: nothing is known about where its weights come from. */
export function importedSource(id: string, file: string): PublishedWeights {
  return {
    id,
    name: `X-UMX (imported from ${basename(file)})`,
    url: `file:${resolve(file)}`,
    fileName: basename(file),
    license: 'unknown: an nnabla X-UMX parameter file imported by the user; its terms are those of whoever trained it',
    provenance: `nnabla X-UMX parameter file ${basename(file)} imported by the user; training data unknown`,
    metrics: {},
  };
}

async function head(path: string): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(8);
    const { bytesRead } = await fh.read(b, 0, 8, 0);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** An x-umx.h5, a model folder or a .zip of one, told apart by content (a folder, the HDF5 or zip signature). */
export async function importModel(path: string, opts: ImportModelOptions): Promise<ImportedModel> {
  const abs = resolve(path);
  let info;
  try {
    info = await stat(abs);
  } catch (err) {
    throw asXumxError(err, abs);
  }
  if (info.isDirectory()) return importFolder(abs, opts);
  const start = await head(abs).catch((err) => {
    throw asXumxError(err, abs);
  });
  if (hasHdf5Signature(start)) return importH5(abs, opts);
  if (start.subarray(0, 4).equals(ZIP_SIGNATURE)) return importZip(abs, opts);
  throw new XumxError(
    'BAD_ARGUMENT',
    `${abs}: not a model: expected Sony's x-umx.h5, a model folder (manifest.json + ONNX file, see models/README.md) or a .zip of one` +
      (extname(abs).toLowerCase() === '.zip' ? ' (this .zip is not a readable zip archive)' : ''),
    abs,
  );
}

async function refuseBundledId(id: string, opts: ImportModelOptions): Promise<void> {
  const scan = await scanModels(opts.modelDirs, { allowTestModels: true });
  const taken = scan.models.find((m) => m.manifest.id === id && m.bundled);
  if (taken) {
    throw new XumxError(
      'BAD_ARGUMENT',
      `a model "${id}" comes with the app (${taken.dir}); give the imported one another id`,
      taken.dir,
    );
  }
}

async function importH5(file: string, opts: ImportModelOptions): Promise<ImportedModel> {
  const source = opts.id && opts.id !== XUMX_OFFICIAL.id ? importedSource(opts.id, file) : XUMX_OFFICIAL;
  await refuseBundledId(source.id, opts);
  const size = (await stat(file)).size;
  await ensureFreeSpace(opts.modelsDir, Math.ceil(size * 1.05), `importing ${basename(file)}`, opts.statfs);
  const convert = opts.convert ?? convertInWorker;
  const r = await convert({
    h5Path: file,
    modelsDir: opts.modelsDir,
    source,
    origin: `local file ${file}`,
    installedAs: 'imported',
    signal: opts.signal,
    onStage: opts.onStage,
  });
  return { id: r.id, dir: r.dir, notes: r.notes };
}

/** Checks a model folder against the contract: manifest, file size and sha256, the network's inputs and outputs. */
export async function validateModelFolder(dir: string): Promise<ModelManifest> {
  const manifestPath = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch {
    throw new XumxError(
      'MODEL_BAD_MANIFEST',
      `${dir}: not a model folder: it has no manifest.json (see models/README.md)`,
      manifestPath,
    );
  }
  const manifest = parseManifestText(text, manifestPath);
  if (manifest.testOnly) {
    throw new XumxError(
      'MODEL_BAD_MANIFEST',
      `${manifestPath}: a test-only network (random weights) separates nothing and is not installed`,
      manifestPath,
    );
  }
  const onnxPath = await verifyModelFile({ manifest, dir, bundled: false });
  let summary;
  try {
    summary = summarizeOnnx(await readFile(onnxPath));
  } catch (err) {
    throw new XumxError('MODEL_CORRUPT', `${onnxPath}: not an ONNX model (${(err as Error).message})`, onnxPath);
  }
  const io = (list: { name: string; elemType: string }[]) =>
    list.map((v) => `${v.name} (${v.elemType})`).join(', ') || 'none';
  const ok = (list: { name: string; elemType: string }[], name: string) =>
    list.some((v) => v.name === name && v.elemType === 'float32');
  if (!ok(summary.inputs, 'mix_mag') || !ok(summary.outputs, 'est_mag')) {
    throw new XumxError(
      'MODEL_BAD_SHAPE',
      `${onnxPath}: the contract needs the input mix_mag (float32) and the output est_mag (float32); ` +
        `this network has inputs ${io(summary.inputs)} and outputs ${io(summary.outputs)}`,
      onnxPath,
    );
  }
  return manifest;
}

async function importFolder(src: string, opts: ImportModelOptions): Promise<ImportedModel> {
  opts.onStage?.('check');
  const manifest = await validateModelFolder(src);
  await refuseBundledId(manifest.id, opts);
  if (resolve(src) === resolve(opts.modelsDir, manifest.id)) {
    throw new XumxError('BAD_ARGUMENT', `${src}: this model is already installed there`, src);
  }
  await ensureFreeSpace(opts.modelsDir, Math.ceil(manifest.size * 1.05), `importing ${manifest.name}`, opts.statfs);
  opts.onStage?.('copy');
  return placeFolder(manifest.id, opts, async (tmp) => {
    await cp(src, tmp, {
      recursive: true,
      filter: (p) => basename(p) !== ORIGIN_FILE || resolve(p, '..') !== resolve(src),
    });
    await writeFile(join(tmp, ORIGIN_FILE), originText('imported', src));
  });
}

/** Builds the model folder in a temporary sibling and renames it into place; removes the sibling on any failure. */
async function placeFolder(
  id: string,
  opts: ImportModelOptions,
  fill: (tmp: string) => Promise<void>,
): Promise<ImportedModel> {
  const dir = join(opts.modelsDir, id);
  const tmp = join(opts.modelsDir, `.${id}.partial-${process.pid}-${Date.now()}`);
  try {
    await makeFolders(opts.modelsDir);
    await fill(tmp);
    if (opts.signal?.aborted) throw new XumxError('CANCELLED', `${id}: import cancelled`);
    // The copy is checked again where it landed: a disk that corrupts or truncates shows here, not at the first song.
    await validateModelFolder(tmp);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    return { id, dir, notes: [] };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    throw asXumxError(err, dir);
  }
}

function safeEntryName(name: string): string | null {
  const n = posix.normalize(name.replace(/\\/g, '/'));
  if (n.startsWith('/') || n.startsWith('../') || n === '..' || /^[a-zA-Z]:/.test(n) || n.includes('\0')) return null;
  return n;
}

async function importZip(file: string, opts: ImportModelOptions): Promise<ImportedModel> {
  opts.onStage?.('unpack');
  let entries: AdmZip.IZipEntry[];
  try {
    entries = new AdmZip(await readFile(file)).getEntries();
  } catch (err) {
    throw new XumxError('BAD_ARGUMENT', `${file}: not a readable zip archive (${(err as Error).message})`, file);
  }
  const files = entries.filter((e) => !e.isDirectory);
  if (files.length > MAX_ZIP_ENTRIES)
    throw new XumxError(
      'BAD_ARGUMENT',
      `${file}: holds ${files.length} files; a model zip holds a manifest, a network and a few notes`,
      file,
    );
  const names = files.map((e) => safeEntryName(e.entryName));
  const bad = files.find((_, i) => names[i] === null);
  if (bad)
    throw new XumxError(
      'BAD_ARGUMENT',
      `${file}: the entry "${bad.entryName}" points outside the archive; not unpacked`,
      file,
    );
  // The manifest at the top, or in one top folder (what zipping a model folder gives).
  const manifestAt = (names as string[]).filter((n) => n === 'manifest.json' || /^[^/]+\/manifest\.json$/.test(n));
  if (manifestAt.length !== 1) {
    throw new XumxError(
      'MODEL_BAD_MANIFEST',
      `${file}: ${manifestAt.length ? 'holds several models' : 'holds no manifest.json at its top or in one top folder'}; see models/README.md`,
      file,
    );
  }
  const prefix = manifestAt[0].slice(0, -'manifest.json'.length);
  const unpacked = files.reduce((a, e) => a + e.header.size, 0);
  await ensureFreeSpace(opts.modelsDir, Math.ceil(unpacked * 2.1), `importing ${basename(file)}`, opts.statfs);
  const stage = join(opts.modelsDir, `.unzip-${process.pid}-${Date.now()}`);
  try {
    for (let i = 0; i < files.length; i++) {
      const name = names[i] as string;
      if (!name.startsWith(prefix)) continue;
      const out = join(stage, name.slice(prefix.length));
      await makeFolders(join(out, '..'));
      const data = await new Promise<Buffer>((res, rej) =>
        files[i].getDataAsync((d, err) => (err ? rej(new Error(err)) : res(d))),
      );
      await writeFile(out, data);
      if (opts.signal?.aborted) throw new XumxError('CANCELLED', `${file}: import cancelled`, file);
    }
    return await importFolder(stage, opts);
  } catch (err) {
    throw err instanceof XumxError
      ? err
      : new XumxError('BAD_ARGUMENT', `${file}: cannot unpack (${(err as Error).message})`, file, { cause: err });
  } finally {
    await rm(stage, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** Removes a downloaded or imported model; a bundled one is refused. Stems already written are not touched. */
export async function removeModel(id: string, modelDirs: string[]): Promise<{ id: string; dir: string }> {
  const scan = await scanModels(modelDirs, { allowTestModels: true });
  const m = scan.models.find((x) => x.manifest.id === id);
  if (!m) {
    const brokenOne = scan.broken.find((b) => b.folder === id);
    if (!brokenOne) throw new XumxError('MODEL_NOT_FOUND', `no model "${id}" is installed`);
    if (resolve(brokenOne.dir, '..') === bundledModelsDir()) {
      throw new XumxError(
        'MODEL_NOT_REMOVABLE',
        `the folder "${id}" comes with the app and cannot be removed (${brokenOne.dir})`,
        brokenOne.dir,
      );
    }
    await removeFolder(brokenOne.dir);
    return { id, dir: brokenOne.dir };
  }
  if (m.bundled) {
    throw new XumxError(
      'MODEL_NOT_REMOVABLE',
      `model "${id}" comes with the app and cannot be removed (${m.dir})`,
      m.dir,
    );
  }
  await removeFolder(m.dir);
  return { id, dir: m.dir };
}

/** Renamed away first, so a removal cut short never leaves a folder that looks like a broken model. */
async function removeFolder(dir: string): Promise<void> {
  const gone = join(dir, '..', `.${basename(dir)}.removing-${process.pid}-${Date.now()}`);
  try {
    await rename(dir, gone);
  } catch (err) {
    throw asXumxError(err, dir);
  }
  await rm(gone, { recursive: true, force: true });
}
