// The real engine as the listening tests use it: the bundled model, one network and one DSP thread, short chunks
// (so a few seconds of song make several) and an estimate cache in the test's folder, so re-renders and on-demand
// blocks come from the cache.
import { bundledModelsDir, createEngine, type Engine, type EngineOptions } from '../../../src-main/engine/index.ts';
import { join } from 'node:path';

export function smallTestEngine(dir: string, more: Partial<EngineOptions> = {}): Engine {
  return createEngine({
    modelDirs: [bundledModelsDir()],
    threads: 1,
    dspThreads: 1,
    cache: { dir: join(dir, 'cache') },
    segments: { segmentFrames: 64, overlapFrames: 8, batch: 2 },
    ...more,
  });
}
