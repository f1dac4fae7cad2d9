// Starting the engine's worker threads, one rule for all of them: a worker's source is `<name>.ts` beside the module
// that starts it. Run from TypeScript (tsx), a thread cannot load .ts itself, so it starts `<name>-entry.mjs`, which
// loads the source through tsx; a compiled build (the Electron bundle, scripts/build-electron.mjs) has `<name>.js`
// beside the starting module and starts that.
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `from`: the starting module's import.meta.url; `name`: the worker's file name without extension. */
export function startWorker(from: string, name: string, options?: WorkerOptions): Worker {
  const fromSource = new URL(from).pathname.endsWith('.ts');
  return new Worker(new URL(fromSource ? `./${name}-entry.mjs` : `./${name}.js`, from), options);
}
