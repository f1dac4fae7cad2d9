// Finds the Electron executable without `require('electron')`, which would try to download it (and fail offline).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

/** The executable's path, or null with the reason it is not usable. */
export function findElectronBinary(env = process.env) {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(pkg)) return { path: null, reason: 'the electron package is not installed' };
  const pathFile = join(pkg, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : null;
  const distDir = env.ELECTRON_OVERRIDE_DIST_PATH || join(pkg, 'dist');
  if (!rel && !env.ELECTRON_OVERRIDE_DIST_PATH) {
    return { path: null, reason: 'Electron binary not installed: offline install (its download could not run)' };
  }
  const path = join(distDir, rel || 'electron');
  if (!existsSync(path))
    return { path: null, reason: `Electron binary not installed: offline install (${path} is missing)` };
  return { path, reason: null };
}
