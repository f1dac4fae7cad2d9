// Builds the engine's ONNX graph (models/README.md: input mix_mag [batch, 2, 2049, frames], output est_mag
// [sources, batch, 2, 2049, frames]) from XumxWeights, computing what Sony's OpenUnmix_CrossNet computes in test
// mode. For speed on the CPU the per-source layers that share an input run as one matrix product, and every
// affine step that is linear (input mean/scale, inference batch norm, output scale/mean) is folded into the
// neighbouring weight and bias (in float64, stored as float32).
import { OnnxGraphBuilder } from './onnx-graph.ts';
import type { DenseBn, XumxWeights } from './xumx-weights.ts';

export const XUMX_OPSET = 17;

/** The bias-free dense layer and its batch norm as one affine map: y = x · W' + b'. */
interface Affine {
  weight: Float64Array; // [inputs, outputs]
  bias: Float64Array; // [outputs]
}

/**
 * Folds `pre` (x -> (x + add) · mul, per input) and `post` (y -> y · mul + add, per output) around dense+bn.
 * The index maps say which per-bin entry a flattened channel·bin feature uses.
 */
function foldDenseBn(
  d: DenseBn,
  pre?: { add: Float32Array; mul: Float32Array; index: (i: number) => number },
  post?: { mul: Float32Array; add: Float32Array; index: (o: number) => number },
): Affine {
  const { inputs, outputs, weight, bn } = d;
  const g = new Float64Array(outputs);
  const shift = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) {
    g[o] = bn.gamma[o] / Math.sqrt(bn.variance[o] + bn.eps);
    shift[o] = bn.beta[o] - bn.mean[o] * g[o];
  }
  const outMul = new Float64Array(outputs).fill(1);
  const outAdd = new Float64Array(outputs);
  if (post) {
    for (let o = 0; o < outputs; o++) {
      outMul[o] = post.mul[post.index(o)];
      outAdd[o] = post.add[post.index(o)];
    }
  }
  const w = new Float64Array(inputs * outputs);
  const preBias = new Float64Array(outputs);
  for (let i = 0; i < inputs; i++) {
    const inMul = pre ? pre.mul[pre.index(i)] : 1;
    const inAdd = pre ? pre.add[pre.index(i)] * inMul : 0;
    const row = i * outputs;
    for (let o = 0; o < outputs; o++) {
      const wio = weight[row + o];
      w[row + o] = wio * inMul * g[o] * outMul[o];
      if (inAdd !== 0) preBias[o] += wio * inAdd;
    }
  }
  const bias = new Float64Array(outputs);
  for (let o = 0; o < outputs; o++) bias[o] = (preBias[o] * g[o] + shift[o]) * outMul[o] + outAdd[o];
  return { weight: w, bias };
}

/** Side by side: [inputs, n · outputs], so one product computes every source's layer from a shared input. */
function concatColumns(parts: Affine[], inputs: number, outputs: number): { weight: Float32Array; bias: Float32Array } {
  const n = parts.length;
  const weight = new Float32Array(inputs * n * outputs);
  const bias = new Float32Array(n * outputs);
  parts.forEach((p, s) => {
    for (let i = 0; i < inputs; i++) {
      const dst = i * n * outputs + s * outputs;
      for (let o = 0; o < outputs; o++) weight[dst + o] = p.weight[i * outputs + o];
    }
    for (let o = 0; o < outputs; o++) bias[s * outputs + o] = p.bias[o];
  });
  return { weight, bias };
}

/** Stacked: [n, inputs, outputs] for a batched product over sources. */
function stack(parts: Affine[]): { weight: Float32Array; bias: Float32Array } {
  const weight = new Float32Array(parts.reduce((a, p) => a + p.weight.length, 0));
  const bias = new Float32Array(parts.reduce((a, p) => a + p.bias.length, 0));
  let wo = 0;
  let bo = 0;
  for (const p of parts) {
    weight.set(p.weight, wo);
    bias.set(p.bias, bo);
    wo += p.weight.length;
    bo += p.bias.length;
  }
  return { weight, bias };
}

export interface BuildOptions {
  producerVersion: string;
  metadata?: Record<string, string>;
}

export function buildXumxOnnx(wts: XumxWeights, opts: BuildOptions): Uint8Array {
  const { sources, hidden, channels, bins, maxBin } = wts;
  const S = sources.length;
  const g = new OnnxGraphBuilder('xumx');
  const mix = g.input('mix_mag', ['batch', channels, bins, 'frames']);
  g.output('est_mag', [S, 'batch', channels, bins, 'frames']);
  const src = sources.map((s) => wts.perSource[s]);

  // Crop to the bins the network sees, then frames first, as the reference: [T, B, channels · maxBin].
  const crop = g.node('Slice', [
    mix,
    g.int64s('crop_start', [0]),
    g.int64s('crop_end', [maxBin]),
    g.int64s('crop_axis', [2]),
  ]);
  const cropT = g.node('Transpose', [crop], { perm: { ints: [3, 0, 1, 2] } });
  const x = g.node('Reshape', [cropT, g.int64s('shape_tb_flat', [0, 0, -1])]);

  // fc1 + bn1 (+ input mean/scale) of every source in one product, tanh, then the first crossing (average).
  const fc1 = concatColumns(
    src.map((w) =>
      foldDenseBn(w.fc1, {
        add: w.inputMean,
        mul: w.inputScale,
        index: (i) => i % maxBin,
      }),
    ),
    channels * maxBin,
    hidden,
  );
  const h1 = g.node('Tanh', [
    g.node('Add', [
      g.node('MatMul', [x, g.weight('fc1_w', [channels * maxBin, S * hidden], fc1.weight)]),
      g.weight('fc1_b', [S * hidden], fc1.bias),
    ]),
  ]);
  const shapeSplit = g.int64s('shape_tb_sources', [0, 0, S, hidden]);
  const cross1 = g.node('ReduceMean', [g.node('Reshape', [h1, shapeSplit])], {
    axes: { ints: [2] },
    keepdims: { i: 0 },
  });

  // Each source's 3-layer BLSTM reads the crossing. ONNX LSTM gives [T, 2, B, H]; the reference wants [T, B, 2H].
  const lstmOuts = sources.map((name, s) => {
    let y = cross1;
    src[s].lstm.forEach((layer, l) => {
      const p = `lstm_${name}_${l}`;
      const out = g.node(
        'LSTM',
        [
          y,
          g.weight(`${p}_w`, [2, 4 * layer.hidden, layer.inputs], layer.w),
          g.weight(`${p}_r`, [2, 4 * layer.hidden, layer.hidden], layer.r),
          g.weight(`${p}_b`, [2, 8 * layer.hidden], layer.b),
        ],
        { hidden_size: { i: layer.hidden }, direction: { s: 'bidirectional' } },
      );
      y = g.node('Reshape', [g.node('Transpose', [out], { perm: { ints: [0, 2, 1, 3] } }), 'shape_tb_flat']);
    });
    return y;
  });
  // Second crossing: mean over sources of [fc1_s, lstm_s] = [mean fc1_s, mean lstm_s] = [cross1, mean lstm_s].
  const cross2 = g.node('Concat', [cross1, g.node('Mean', lstmOuts)], { axis: { i: 2 } });

  // fc2 + bn2 of every source in one product from the shared crossing, relu.
  const fc2 = concatColumns(
    src.map((w) => foldDenseBn(w.fc2)),
    2 * hidden,
    hidden,
  );
  const h2 = g.node('Relu', [
    g.node('Add', [
      g.node('MatMul', [cross2, g.weight('fc2_w', [2 * hidden, S * hidden], fc2.weight)]),
      g.weight('fc2_b', [S * hidden], fc2.bias),
    ]),
  ]);
  // Sources first, frames·batch flattened, so fc3 is one batched product with every row in one matrix.
  const h2s = g.node('Reshape', [
    g.node('Transpose', [g.node('Reshape', [h2, shapeSplit])], { perm: { ints: [2, 0, 1, 3] } }),
    g.int64s('shape_sources_rows', [S, -1, hidden]),
  ]);

  // fc3 + bn3 + output scale, then output mean, per source; relu gives the mask.
  const fc3 = stack(
    src.map((w) =>
      foldDenseBn(w.fc3, undefined, {
        mul: w.outputScale,
        add: w.outputMean,
        index: (o) => o % bins,
      }),
    ),
  );
  const mask = g.node('Relu', [
    g.node('Add', [
      g.node('MatMul', [h2s, g.weight('fc3_w', [S, hidden, channels * bins], fc3.weight)]),
      g.weight('fc3_b', [S, 1, channels * bins], fc3.bias),
    ]),
  ]);
  const tb = g.node('Shape', [cropT], { start: { i: 0 }, end: { i: 2 } });
  const maskShape = g.node(
    'Concat',
    [g.int64s('shape_sources', [S]), tb, g.int64s('shape_channels_bins', [channels, bins])],
    { axis: { i: 0 } },
  );
  const mask5 = g.node('Reshape', [mask, maskShape]); // [S, T, B, channels, bins]
  const maskT = g.node('Transpose', [mask5], { perm: { ints: [0, 2, 3, 4, 1] } }); // [S, B, channels, bins, T]
  g.node('Mul', [maskT, mix], {}, 'est_mag');

  return g.toBytes(XUMX_OPSET, { name: 'xumx-studio', version: opts.producerVersion }, opts.metadata);
}
