// Execution providers: which ones to try, in which order, and why one cannot run.
// `auto` tries the platform's GPU providers first; each is trusted only after a warm-up run agrees with the CPU.
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { EpChoice, EpName } from '../types.ts';

/** Order `auto` tries on each platform; cpu is always last and always works. */
export function autoOrder(platform: NodeJS.Platform): EpName[] {
  if (platform === 'win32') return ['dml', 'webgpu', 'cpu'];
  if (platform === 'darwin') return ['coreml', 'webgpu', 'cpu'];
  return ['cuda', 'webgpu', 'cpu'];
}

export function candidates(choice: EpChoice, platform: NodeJS.Platform): EpName[] {
  return choice === 'auto' ? autoOrder(platform) : [choice];
}

/** Relative error allowed between a provider's warm-up output and the CPU's (GPUs reorder float sums, TF32 …). */
export const WARMUP_TOLERANCE = 1e-3;

/**
 * A reason the provider cannot work here that is known without trying it, or null.
 * `backends` is onnxruntime-node's listSupportedBackends(); `ortBinDir` holds its native libraries.
 */
export function knownUnavailable(
  ep: EpName,
  platform: NodeJS.Platform,
  backends: { name: string }[],
  ortBinDir: string | null,
): string | null {
  if (ep === 'cpu') return null;
  if (ep === 'dml' && platform !== 'win32') return 'DirectML runs only on Windows';
  if (ep === 'coreml' && platform !== 'darwin') return 'Core ML runs only on macOS';
  if (ep === 'cuda' && platform === 'darwin') return 'CUDA is not available on macOS';
  if (
    ep === 'cuda' &&
    platform === 'linux' &&
    ortBinDir &&
    !existsSync(join(ortBinDir, 'libonnxruntime_providers_cuda.so'))
  ) {
    return "onnxruntime-node's CUDA binaries are not installed (see README, section GPU)";
  }
  if (!backends.some((b) => b.name === ep)) return `this onnxruntime-node build has no ${ep} execution provider`;
  // On Linux WebGPU (Dawn) runs on Vulkan only; without a Vulkan driver it can only fail, noisily.
  if (ep === 'webgpu' && platform === 'linux' && !hasVulkanDriver())
    return 'no Vulkan driver is installed (WebGPU needs one on Linux)';
  if (ep === 'webgpu' && platform === 'linux' && !hasVulkanLoader()) {
    return 'the Vulkan loader libvulkan.so.1 is not installed (WebGPU needs it on Linux; Debian/Ubuntu package libvulkan1)';
  }
  return null;
}

/** Whether the Vulkan loader library is where the dynamic linker looks (a GPU driver alone does not bring it). */
export function hasVulkanLoader(env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/lib64',
    '/usr/lib',
    '/usr/local/lib',
  ];
  return dirs.some((d) => existsSync(join(d, 'libvulkan.so.1')));
}

/** Whether a Vulkan loader would find any driver manifest (ICD), where the loader looks for them. */
export function hasVulkanDriver(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES || env.VK_ADD_DRIVER_FILES) return true;
  const dataDirs = (env.XDG_DATA_DIRS || '/usr/local/share:/usr/share').split(':');
  const dirs = ['/etc/vulkan/icd.d', ...dataDirs.map((d) => join(d, 'vulkan', 'icd.d'))];
  if (env.XDG_DATA_HOME) dirs.push(join(env.XDG_DATA_HOME, 'vulkan', 'icd.d'));
  return dirs.some((d) => {
    try {
      return readdirSync(d).some((f) => f.endsWith('.json'));
    } catch {
      return false;
    }
  });
}

/** onnxruntime-node's folder of native libraries for this platform, or null when it cannot be found. */
export function ortBinDir(platform: NodeJS.Platform = process.platform, arch: string = process.arch): string | null {
  try {
    const req = createRequire(import.meta.url);
    const pkgDir = dirname(req.resolve('onnxruntime-node/package.json'));
    const dir = join(pkgDir, 'bin', 'napi-v6', platform, arch);
    return existsSync(dir) ? dir : null;
  } catch {
    return null;
  }
}

/** Turns onnxruntime's error text into one line a user can act on. */
export function explainEpFailure(ep: EpName, err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (ep === 'webgpu' && /adapter/i.test(text)) return 'webgpu: no WebGPU adapter (no usable GPU or driver found)';
  if (ep === 'cuda' && /shared library|libcudart|libcublas|libcudnn/i.test(text)) {
    return 'cuda: the CUDA EP could not load its libraries (needs an NVIDIA driver, CUDA 12 and cuDNN 9; see README)';
  }
  const firstLine = text
    .split('\n')[0]
    .replace(/^\/onnxruntime_src\/\S+\s+/, '')
    .slice(0, 240);
  return `${ep}: ${firstLine}`;
}

/** Largest absolute difference relative to the reference's largest magnitude. */
export function relativeDifference(ref: Float32Array, got: Float32Array): number {
  if (ref.length !== got.length) return Infinity;
  let maxRef = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    const r = ref[i],
      g = got[i];
    if (!Number.isFinite(g)) return Infinity;
    maxRef = Math.max(maxRef, Math.abs(r));
    maxDiff = Math.max(maxDiff, Math.abs(r - g));
  }
  return maxDiff / Math.max(maxRef, 1e-12);
}
