// X-UMX weights in one neutral, framework-free form. Readers (nnabla h5, ...) translate their file layout into
// this; the ONNX builder reads only this. Everything the two sides must agree on is written down here.

export interface BatchNorm {
  gamma: Float32Array; // [features]
  beta: Float32Array; // [features]
  mean: Float32Array; // running mean [features]
  variance: Float32Array; // running variance [features]
  eps: number;
}

/** A bias-free fully connected layer followed by inference-mode batch norm: bn(x · weight). */
export interface DenseBn {
  inputs: number;
  outputs: number;
  /** [inputs, outputs] row-major: y[o] = Σ_i x[i] · weight[i · outputs + o]. */
  weight: Float32Array;
  bn: BatchNorm;
}

/**
 * One bidirectional LSTM layer in ONNX's layout: gates in the order i, o, f, c (ONNX LSTM operator spec);
 * direction 0 forward, 1 backward; bias = input bias then recurrent bias.
 */
export interface LstmLayer {
  inputs: number;
  hidden: number; // per direction
  w: Float32Array; // [2, 4 · hidden, inputs]
  r: Float32Array; // [2, 4 · hidden, hidden]
  b: Float32Array; // [2, 8 · hidden]
}

export interface SourceWeights {
  /** Added to the cropped mixture magnitude (it holds -mean), per bin [maxBin]. */
  inputMean: Float32Array;
  /** Multiplied after the mean is added (it holds 1/std), per bin [maxBin]. */
  inputScale: Float32Array;
  fc1: DenseBn; // [channels · maxBin] -> hidden, then tanh
  lstm: LstmLayer[];
  fc2: DenseBn; // [2 · hidden] -> hidden, then relu
  fc3: DenseBn; // hidden -> [channels · bins]
  /** The decoder output is multiplied by this, per bin [bins] ... */
  outputScale: Float32Array;
  /** ... and then this is added, per bin [bins], before the mask's ReLU. */
  outputMean: Float32Array;
}

export interface XumxWeights {
  sources: string[];
  hidden: number;
  layers: number;
  channels: number;
  /** Bins of the full spectrum (n_fft / 2 + 1). */
  bins: number;
  /** Bins the network sees (those below the bandwidth limit). */
  maxBin: number;
  perSource: Record<string, SourceWeights>;
}

/** Sony's published X-UMX (x-umx/model.py with the defaults of test.py). */
export const OFFICIAL_XUMX = {
  sources: ['bass', 'drums', 'vocals', 'other'],
  hidden: 512,
  layers: 3,
  channels: 2,
  bins: 2049,
  maxBin: 1487,
} as const;
