#!/usr/bin/env node
// `npm start`: the desktop app when the Electron binary is installed, otherwise (or with --web) browser mode.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { findElectronBinary } from './electron-binary.mjs';
import { ensureRendererBuilt } from './renderer-build.mjs';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const forceWeb = args.includes('--web');
const passOn = args.filter((a) => a !== '--web');

const failure = ensureRendererBuilt();
if (failure) {
  console.error(`The user interface could not be built:\n${failure}`);
  process.exit(1);
}

function run(cmd, argv) {
  const child = spawn(cmd, argv, { cwd: root, stdio: 'inherit' });
  const forward = (sig) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 130 : 1)));
}

const electron = findElectronBinary();
if (forceWeb || !electron.path) {
  if (!forceWeb)
    console.log(
      `${electron.reason}.\nStarting browser mode instead (the same app, served to your browser on this computer).\n`,
    );
  run(process.execPath, ['--import', 'tsx', join(root, 'src-main', 'web', 'main.ts'), ...passOn]);
} else {
  const { buildElectron } = await import('./build-electron.mjs');
  await buildElectron();
  run(electron.path, [join(root, 'dist', 'src-main', 'electron', 'main.js'), ...passOn]);
}
