// Finds installed models: every <dir>/<folder>/manifest.json under the given model folders.
// Test-only networks are hidden unless the caller (a test) asks for them: users never see random weights.
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XumxError, asXumxError } from '../errors.ts';
import { parseManifestText, type ModelManifest } from './manifest.ts';

export interface InstalledModel {
  manifest: ModelManifest;
  /** The model's folder. */
  dir: string;
  bundled: boolean;
}

/** A folder that looks like a model but cannot be used; kept so `--model <folder>` can say why. */
export interface BrokenModel {
  folder: string;
  dir: string;
  error: XumxError;
}

export interface ModelScan {
  models: InstalledModel[];
  broken: BrokenModel[];
}

/** The models/ folder shipped with the app: the repository's, or XUMX_STUDIO_BUNDLED_MODELS (a packaged app's resources). */
export function bundledModelsDir(env = process.env): string {
  if (env.XUMX_STUDIO_BUNDLED_MODELS) return resolve(env.XUMX_STUDIO_BUNDLED_MODELS);
  return resolve(fileURLToPath(new URL('../../../models', import.meta.url)));
}

/** Where `models install` puts downloaded models: the per-user data folder of each platform. */
export function userModelsDir(platform: NodeJS.Platform = process.platform, env = process.env): string {
  if (env.XUMX_STUDIO_MODELS) return resolve(env.XUMX_STUDIO_MODELS);
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'xumx-studio', 'models');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'xumx-studio', 'models');
  return join(env.XDG_DATA_HOME ?? join(homedir(), '.local', 'share'), 'xumx-studio', 'models');
}

export function defaultModelDirs(): string[] {
  return [bundledModelsDir(), userModelsDir()];
}

export async function scanModels(dirs: string[], opts: { allowTestModels?: boolean } = {}): Promise<ModelScan> {
  const bundledDir = bundledModelsDir();
  const models: InstalledModel[] = [];
  const broken: BrokenModel[] = [];
  const seen = new Set<string>();
  for (const root of dirs.map((d) => resolve(d))) {
    let entries;
    try {
      entries = await readdir(root, { withFileTypes: true });
    } catch {
      continue; // a model folder that does not exist yet simply holds no models
    }
    for (const entry of entries.filter((e) => e.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
      const dir = join(root, entry.name);
      const manifestPath = join(dir, 'manifest.json');
      let text: string;
      try {
        text = await readFile(manifestPath, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
          broken.push({ folder: entry.name, dir, error: asXumxError(err, manifestPath) });
        continue; // folders without a manifest are not models
      }
      let manifest: ModelManifest;
      try {
        manifest = parseManifestText(text, manifestPath);
      } catch (err) {
        broken.push({ folder: entry.name, dir, error: asXumxError(err, manifestPath) });
        continue;
      }
      if (manifest.testOnly && !opts.allowTestModels) continue;
      if (seen.has(manifest.id)) continue; // the first folder in the list wins
      seen.add(manifest.id);
      models.push({ manifest, dir, bundled: root === bundledDir });
    }
  }
  return { models, broken };
}

/** Picks the model for a job: by id (or folder name of a broken one, to report why), else the first listed. */
export function pickModel(scan: ModelScan, id: string | undefined, dirs: string[]): InstalledModel {
  if (id === undefined) {
    const first = scan.models[0];
    if (!first) throw noModelError(dirs);
    return first;
  }
  const found = scan.models.find((m) => m.manifest.id === id);
  if (found) return found;
  const brokenOne = scan.broken.find((b) => b.folder === id);
  if (brokenOne) throw brokenOne.error;
  const known = scan.models.map((m) => m.manifest.id);
  throw new XumxError(
    'MODEL_NOT_FOUND',
    `no model "${id}" is installed` + (known.length ? ` (installed: ${known.join(', ')})` : `; ${howToGetModel(dirs)}`),
  );
}

export function noModelError(dirs: string[]): XumxError {
  return new XumxError('NO_MODEL', `no separation model is installed; ${howToGetModel(dirs)}`);
}

function howToGetModel(dirs: string[]): string {
  return (
    'install the official X-UMX weights with "xumx-studio models install xumx-official", ' +
    `or put a model folder (manifest.json + model.onnx, see models/README.md) into one of: ${dirs.join(', ')}`
  );
}
