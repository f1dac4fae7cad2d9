// Builds the renderer with vite when dist/renderer is missing or older than its sources. Used by `npm start`
// and by the end-to-end tests, so neither runs a stale UI.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
export const rendererDir = join(root, 'dist', 'renderer');

function newestMtime(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, name)));
  return newest;
}

export function rendererIsStale() {
  const index = join(rendererDir, 'index.html');
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  const sources = [
    join(root, 'src-renderer'),
    join(root, 'vite.config.ts'),
    join(root, 'src-main', 'api', 'contract.ts'),
  ];
  return sources.some((p) => existsSync(p) && newestMtime(p) > built);
}

/** Returns null when the build is fresh (or was just made), else the build's error output. */
export function ensureRendererBuilt({ quiet = false } = {}) {
  if (!rendererIsStale()) return null;
  if (!quiet) console.log('Building the user interface (vite build)…');
  const r = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--logLevel', 'error'],
    {
      cwd: root,
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) return `${r.stdout}\n${r.stderr}`.trim() || `vite build exited with ${r.status}`;
  return null;
}
