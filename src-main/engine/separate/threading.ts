// How the engine shares the cores between the network thread and the chunk DSP (controls, Wiener, ISTFT): the one
// place its thread counts are decided, for every path.
// Measured on 2 cores (bench/separate.bench.ts): onnxruntime's LSTM scales poorly past one thread while the DSP
// costs several times the network, so during a first separation the network gets one core and the engine worker,
// which renders the chunks itself, the other; a DSP pool there only adds memory. With more cores the DSP splits by
// chunk across a pool and the network keeps half the cores. A re-render from the estimate cache has no network:
// its chunk DSP is all the work and splits across one pool thread per core (bench/rerender.bench.ts).

export interface ThreadPlan {
  /** onnxruntime intra-op threads of the network thread (0: onnxruntime's own default). */
  network: number;
  /** DSP pool threads the engine starts; 0: no pool, every chunk renders in the engine worker. */
  pool: number;
  /**
   * Chunks a first separation renders on the pool at once, beside the network; 0: it renders them in the engine
   * worker. Re-renders from the cache and parts of a song always use the whole pool.
   */
  separate: number;
}

/** Sizes the engine was given (EngineOptions.threads, dspThreads); each one set wins over the plan. */
export interface ThreadChoices {
  threads?: number;
  dspThreads?: number;
}

/**
 * The threads for `cores` cores. `cached`: the engine keeps an estimate cache (the app; the CLI with --cache-dir),
 * so it re-renders songs and its pool is sized for re-renders; first separations keep the same share of it as
 * without the cache.
 */
export function threadPlan(cores: number, cached: boolean, choices: ThreadChoices = {}): ThreadPlan {
  const network = choices.threads ?? (cores <= 3 ? 1 : Math.floor(cores / 2));
  if (choices.dspThreads !== undefined) {
    const size = Math.max(0, choices.dspThreads);
    return { network, pool: size, separate: size };
  }
  const separate = cores <= 3 ? 0 : Math.max(1, cores - Math.floor(cores / 2) - 1);
  return { network, pool: cached ? Math.max(1, cores) : separate, separate };
}
