#!/usr/bin/env node
// Bundles the Electron main process (with the engine's worker beside it) and the sandboxed preload into
// dist/src-main/electron/. npm packages stay external: they load from node_modules (onnxruntime-node's native
// files are unpacked from the asar by electron-builder.yml).
import { build } from 'esbuild';
import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { tsImport } from 'tsx/esm/api';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = join(root, 'dist', 'src-main', 'electron');

export async function buildElectron() {
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    absWorkingDir: root,
  };
  await build({
    ...common,
    entryPoints: {
      main: 'src-main/electron/main.ts',
      worker: 'src-main/engine/worker.ts',
      'dsp-worker': 'src-main/engine/separate/dsp-worker.ts',
      'convert-worker': 'src-main/engine/convert/convert-worker.ts',
      'network-worker': 'src-main/engine/model/network-worker.ts',
    },
    outdir,
    format: 'esm',
    packages: 'external',
    // Bundled ESM still needs require() for the few CommonJS spots in dependencies' loaders.
    banner: {
      js: "import { createRequire as __xumxCreateRequire } from 'node:module'; const require = __xumxCreateRequire(import.meta.url);",
    },
  });
  // A sandboxed preload cannot load modules: it must be a single CommonJS file that only requires 'electron'.
  await build({
    ...common,
    entryPoints: { preload: 'src-main/electron/preload.ts' },
    outdir,
    format: 'cjs',
    outExtension: { '.js': '.cjs' },
    external: ['electron'],
  });
  // The DSP kernels' WebAssembly goes beside the bundles, where the engine looks for it in a packaged build.
  const { buildKernels } = await tsImport('../src-main/engine/dsp/kernels/build.ts', import.meta.url);
  copyFileSync(await buildKernels(), join(outdir, 'dsp-kernels.wasm'));
  return outdir;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildElectron();
  console.log(`Built the Electron main process and preload into ${out}`);
}
