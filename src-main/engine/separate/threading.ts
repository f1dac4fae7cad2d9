// How a separation shares the cores between the network thread and the chunk DSP (Wiener, ISTFT).
// Measured on 2 cores (bench/separate.bench.ts): onnxruntime's LSTM scales poorly past one thread while the DSP
// costs several times the network, so the network gets one core and the DSP the other; a DSP pool there only adds
// memory. With more cores the DSP splits by chunk across a pool and the network keeps half the cores.

export interface ThreadPlan {
  /** onnxruntime intra-op threads of the network thread. */
  network: number;
  /** DSP worker threads; 0 renders chunks in the job's own thread. */
  dsp: number;
}

export function threadPlan(cores: number): ThreadPlan {
  if (cores <= 3) return { network: 1, dsp: 0 };
  const network = Math.floor(cores / 2);
  return { network, dsp: Math.max(1, cores - network - 1) };
}
