#!/usr/bin/env node
// Builds the AssemblyScript DSP kernels (src-main/engine/dsp/kernels/build/dsp.wasm) when they are missing or older
// than their source. npm runs it after every install (`prepare`) and the test runner before the tests; the engine
// itself never compiles (it refuses a stale build).
import { tsImport } from 'tsx/esm/api';

const { buildKernels, kernelsFresh, KERNEL_WASM } = await tsImport(
  '../src-main/engine/dsp/kernels/build.ts',
  import.meta.url,
);
if (kernelsFresh()) {
  console.log(`DSP kernels up to date: ${KERNEL_WASM}`);
} else {
  await buildKernels();
  console.log(`Built the DSP kernels: ${KERNEL_WASM}`);
}
