// The Electron build bundles the main process and every worker thread into one folder (scripts/build-electron.mjs).
// The Electron end-to-end test cannot run without Electron's binary, so this checks what it would have caught first:
// every worker the engine starts (startWorker in engine/workers.ts) has its bundle there, beside the DSP kernels.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain ESM helper without type declarations
import { buildElectron } from '../../scripts/build-electron.mjs';

const root = new URL('../../', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

test('the Electron build holds a bundle for every worker thread the engine starts', { timeout: 120_000 }, async () => {
  const started = new Set<string>();
  for (const file of sources(join(root, 'src-main'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/startWorker\(import\.meta\.url, '([^']+)'/g))
      started.add(m[1]);
  }
  assert.deepEqual([...started].sort(), ['convert-worker', 'dsp-worker', 'network-worker', 'worker']);
  const outdir = (await buildElectron()) as string;
  const missing = [...started].filter((name) => !existsSync(join(outdir, `${name}.js`)));
  assert.deepEqual(missing, [], `workers the engine starts but the build lacks (in ${outdir})`);
  assert.ok(existsSync(join(outdir, 'dsp-kernels.wasm')), 'the DSP kernels are beside the bundles');
});
