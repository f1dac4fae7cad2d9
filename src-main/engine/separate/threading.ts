// How the engine shares the cores between the network thread and the chunk DSP (controls, Wiener, ISTFT): the one
// place its thread counts are decided, for every path.
// Without the estimate cache (the CLI), measured on 2 cores (bench/separate.bench.ts): onnxruntime's LSTM scales
// poorly past one thread, so the network gets one core and the engine worker, which renders the chunks itself, the
// other; a DSP pool there took as long and held about 280 MB more. With more cores the DSP splits by chunk across a
// pool and the network keeps half the cores.
// With the cache (the app) the pool has one thread per core: a re-render has no network, its chunk DSP is all the
// work (bench/rerender.bench.ts). First separations use the whole pool too: on a 2-core machine shared with other
// work, the rerender bench's first separations were not faster without it, so the app keeps it.

export interface ThreadPlan {
  /** onnxruntime intra-op threads of the network thread (0: onnxruntime's own default). */
  network: number;
  /**
   * DSP pool threads, shared by first separations (beside the network), re-renders and parts of songs; 0: no pool,
   * every chunk renders in the engine worker.
   */
  dsp: number;
}

/** Sizes the engine was given (EngineOptions.threads, dspThreads); each one set wins over the plan. */
export interface ThreadChoices {
  threads?: number;
  dspThreads?: number;
}

/** The threads for `cores` cores. `cached`: the engine keeps an estimate cache (the app; the CLI with --cache-dir). */
export function threadPlan(cores: number, cached: boolean, choices: ThreadChoices = {}): ThreadPlan {
  const network = choices.threads ?? (cores <= 3 ? 1 : Math.floor(cores / 2));
  if (choices.dspThreads !== undefined) return { network, dsp: Math.max(0, choices.dspThreads) };
  if (cached) return { network, dsp: Math.max(1, cores) };
  return { network, dsp: cores <= 3 ? 0 : Math.max(1, cores - Math.floor(cores / 2) - 1) };
}
