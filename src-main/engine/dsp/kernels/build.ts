// Compiles the AssemblyScript DSP kernels (assembly/dsp.ts) to build/dsp.wasm. Only build steps call it: npm's
// `prepare` (after every install, scripts/build-kernels.mjs), the test runner when the source changed since, and
// scripts/build-electron.mjs for packaged builds, which ship the .wasm and not the compiler. The engine never
// compiles: it loads the build, or says how to make it (index.ts).
// (No command-line entry here: bundled into the Electron build, a "run as script" check would fire there.)
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { XumxError } from '../../errors.ts';

export const KERNEL_SOURCE = fileURLToPath(new URL('./assembly/dsp.ts', import.meta.url));
export const KERNEL_BUILD_DIR = fileURLToPath(new URL('./build/', import.meta.url));
export const KERNEL_WASM = `${KERNEL_BUILD_DIR}dsp.wasm`;
/** Beside the .wasm: the source hash it was built from. */
export const KERNEL_STAMP = `${KERNEL_WASM}.sha256`;

/** SIMD is what the kernels are for; the stub runtime because they never allocate (no data, no GC). */
const FLAGS = ['-O3', '--enable', 'simd', '--runtime', 'stub', '--importMemory', '--noAssert'];

/** The part of AssemblyScript's compiler API used here. */
interface AscApi {
  main(args: string[], options: { stdout: Output; stderr: Output }): Promise<{ error: Error | null }>;
}
interface Output {
  write(s: string | Uint8Array): boolean;
}

export function kernelSourceHash(): string {
  return createHash('sha256').update(readFileSync(KERNEL_SOURCE)).update(FLAGS.join(' ')).digest('hex');
}

/** Whether `wasm` was built from the current source (its stamp beside it matches). */
export function kernelsFresh(wasm = KERNEL_WASM, stamp = `${wasm}.sha256`): boolean {
  return existsSync(wasm) && existsSync(stamp) && readFileSync(stamp, 'utf8') === kernelSourceHash();
}

/** Compiles the kernels; the .wasm and its stamp appear atomically (concurrent builds each rename their own). */
export async function buildKernels(): Promise<string> {
  let asc: AscApi;
  try {
    // By name in a variable: its type declarations would pull AssemblyScript's own globals into this project's.
    const name = 'assemblyscript/asc';
    asc = (await import(name)) as AscApi;
  } catch (err) {
    throw new XumxError(
      'INTERNAL',
      `${KERNEL_WASM} is missing and the AssemblyScript compiler is not installed to build it (npm install): ${(err as Error).message}`,
      KERNEL_WASM,
    );
  }
  mkdirSync(KERNEL_BUILD_DIR, { recursive: true });
  const tmp = `${KERNEL_WASM}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  const errors: string[] = [];
  const { error } = await asc.main([KERNEL_SOURCE, ...FLAGS, '--outFile', tmp], {
    stdout: { write: () => true },
    stderr: {
      write: (s: string | Uint8Array) => {
        errors.push(String(s));
        return true;
      },
    },
  });
  if (error) {
    rmSync(tmp, { force: true });
    throw new XumxError(
      'INTERNAL',
      `building the DSP kernels failed: ${error.message}\n${errors.join('')}`,
      KERNEL_SOURCE,
    );
  }
  const stamp = `${tmp}.sha256`;
  writeFileSync(stamp, kernelSourceHash());
  renameSync(tmp, KERNEL_WASM);
  renameSync(stamp, KERNEL_STAMP);
  return KERNEL_WASM;
}
