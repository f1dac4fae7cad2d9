// Validates an nnabla X-UMX parameter file against Sony's OpenUnmix_CrossNet and translates it into XumxWeights.
// Where each layout fact comes from is listed in models/README.md ("Official X-UMX weights: layout facts").
import { XumxError } from '../errors.ts';
import type { ParameterFile, ParameterInfo } from './nnabla-h5.ts';
import {
  OFFICIAL_XUMX,
  type BatchNorm,
  type DenseBn,
  type LstmLayer,
  type SourceWeights,
  type XumxWeights,
} from './xumx-weights.ts';

/** nnabla's PF.batch_normalization default, which model.py's fc_bn does not override. */
const NNABLA_BN_EPS = 1e-5;

type Shape = readonly number[];

/** Every parameter OpenUnmix_CrossNet owns, with its nnabla shape. */
export function expectedParameters(spec = OFFICIAL_XUMX): Map<string, Shape> {
  const { hidden, layers, channels, bins, maxBin, sources } = spec;
  const h = hidden / 2;
  const out = new Map<string, Shape>();
  const fcBn = (scope: string, nIn: number, nOut: number) => {
    out.set(`${scope}/affine/W`, [nIn, nOut]);
    for (const p of ['beta', 'gamma', 'mean', 'var']) out.set(`${scope}/bn/${p}`, [1, 1, nOut]);
  };
  for (const s of sources) {
    out.set(`input_mean_${s}`, [maxBin]);
    out.set(`input_scale_${s}`, [maxBin]);
    out.set(`output_scale_${s}`, [bins]);
    out.set(`output_mean_${s}`, [bins]);
    fcBn(`fc1_${s}`, channels * maxBin, hidden);
    out.set(`lstm_${s}/lstm/weight_l0`, [2, 4, h, hidden + h]);
    out.set(`lstm_${s}/lstm/weight`, [layers - 1, 2, 4, h, 2 * h + h]);
    out.set(`lstm_${s}/lstm/bias`, [layers, 2, 4, h]);
    fcBn(`fc2_${s}`, 2 * hidden, hidden);
    fcBn(`fc3_${s}`, hidden, channels * bins);
  }
  return out;
}

const fmt = (s: Shape) => `(${s.join(', ')})`;

/** Throws CONVERT_FAILED listing every missing, misshapen or non-float parameter. Returns notes on extras. */
export function validateXumxParameters(path: string, params: ParameterInfo[]): string[] {
  const expected = expectedParameters();
  const found = new Map(params.map((p) => [p.name, p]));
  const problems: string[] = [];
  for (const [name, shape] of expected) {
    const p = found.get(name);
    if (!p) problems.push(`${name} ${fmt(shape)} is missing`);
    else if (p.shape.length !== shape.length || p.shape.some((d, i) => d !== shape[i])) {
      problems.push(`${name} has shape ${fmt(p.shape)}, expected ${fmt(shape)}`);
    } else if (p.dtype !== '<f' && p.dtype !== '<d') problems.push(`${name} has type ${p.dtype}, expected float32`);
  }
  if (problems.length) {
    let hint = '';
    if (found.has('input_mean') || found.has('fc1/affine/W'))
      hint = ' This looks like a single-target Open-Unmix (UMX) file, not X-UMX.';
    else if (problems.length === expected.size) hint = ' This HDF5 file holds no X-UMX parameters.';
    const shown = problems.slice(0, 8).join('; ');
    const more = problems.length > 8 ? `; and ${problems.length - 8} more` : '';
    // What the file holds in place of the missing names, so a report from a user's file can be acted on.
    const unexpected = params.filter((p) => !expected.has(p.name));
    const instead =
      unexpected.length && problems.some((x) => x.endsWith('is missing'))
        ? ` Found instead: ${unexpected
            .slice(0, 8)
            .map((p) => `${p.name} ${fmt(p.shape)}`)
            .join(', ')}` + `${unexpected.length > 8 ? ` and ${unexpected.length - 8} more` : ''}.`
        : '';
    throw new XumxError(
      'CONVERT_FAILED',
      `${path}: not Sony's X-UMX parameter layout (OpenUnmix_CrossNet, hidden 512, 3-layer BLSTM, max_bin 1487, ` +
        `sources bass/drums/vocals/other): ${shown}${more}.${instead}${hint}`,
      path,
    );
  }
  const extras = params.filter((p) => !expected.has(p.name)).map((p) => p.name);
  return extras.length
    ? [`ignored ${extras.length} parameter(s) X-UMX does not use: ${extras.slice(0, 5).join(', ')}`]
    : [];
}

function checkFinite(path: string, name: string, v: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]))
      throw new XumxError('CONVERT_FAILED', `${path}: parameter ${name} holds NaN or infinite values`, path);
  }
  return v;
}

function denseBn(file: ParameterFile, scope: string, nIn: number, nOut: number): DenseBn {
  const get = (n: string) => checkFinite(file.path, `${scope}/${n}`, file.read(`${scope}/${n}`));
  const bn: BatchNorm = {
    beta: get('bn/beta'),
    gamma: get('bn/gamma'),
    mean: get('bn/mean'),
    variance: get('bn/var'),
    eps: NNABLA_BN_EPS,
  };
  // nnabla's affine keeps W as (inmaps, outmaps) and computes x · W: already our orientation.
  return { inputs: nIn, outputs: nOut, weight: get('affine/W'), bn };
}

/** nnabla's LSTM gate slots are i, f, g(=c), o; ONNX wants i, o, f, c. ONNX slot k takes nnabla gate NNABLA_GATE[k]. */
const NNABLA_GATE = [0, 3, 1, 2];

/**
 * One layer of nnabla's LSTM into ONNX layout. nnabla keeps per direction and gate one matrix (H, I + H) that
 * multiplies the concatenation [x, h] (x first), and one bias per gate; ONNX splits input (W) and recurrent (R)
 * weights and has two biases, so the recurrent bias is zero.
 */
function lstmLayer(
  w: Float32Array,
  wOffset: number,
  bias: Float32Array,
  bOffset: number,
  inputs: number,
  h: number,
): LstmLayer {
  const cols = inputs + h;
  const W = new Float32Array(2 * 4 * h * inputs);
  const R = new Float32Array(2 * 4 * h * h);
  const B = new Float32Array(2 * 8 * h);
  for (let d = 0; d < 2; d++) {
    for (let k = 0; k < 4; k++) {
      const g = NNABLA_GATE[k];
      for (let row = 0; row < h; row++) {
        const src = wOffset + ((d * 4 + g) * h + row) * cols;
        W.set(w.subarray(src, src + inputs), ((d * 4 + k) * h + row) * inputs);
        R.set(w.subarray(src + inputs, src + cols), ((d * 4 + k) * h + row) * h);
      }
      const bsrc = bOffset + (d * 4 + g) * h;
      B.set(bias.subarray(bsrc, bsrc + h), d * 8 * h + k * h);
    }
  }
  return { inputs, hidden: h, w: W, r: R, b: B };
}

/** Reads a validated file into XumxWeights. Call validateXumxParameters first. */
export function readXumxWeights(file: ParameterFile): XumxWeights {
  const { hidden, layers, channels, bins, maxBin } = OFFICIAL_XUMX;
  const h = hidden / 2;
  const read = (n: string) => checkFinite(file.path, n, file.read(n));
  const perSource: Record<string, SourceWeights> = {};
  for (const s of OFFICIAL_XUMX.sources) {
    const w0 = read(`lstm_${s}/lstm/weight_l0`);
    const w = read(`lstm_${s}/lstm/weight`);
    const bias = read(`lstm_${s}/lstm/bias`);
    const lstm: LstmLayer[] = [lstmLayer(w0, 0, bias, 0, hidden, h)];
    const perLayerW = 2 * 4 * h * (2 * h + h);
    for (let l = 1; l < layers; l++) lstm.push(lstmLayer(w, (l - 1) * perLayerW, bias, l * 2 * 4 * h, 2 * h, h));
    perSource[s] = {
      inputMean: read(`input_mean_${s}`),
      inputScale: read(`input_scale_${s}`),
      fc1: denseBn(file, `fc1_${s}`, channels * maxBin, hidden),
      lstm,
      fc2: denseBn(file, `fc2_${s}`, 2 * hidden, hidden),
      fc3: denseBn(file, `fc3_${s}`, hidden, channels * bins),
      outputScale: read(`output_scale_${s}`),
      outputMean: read(`output_mean_${s}`),
    };
  }
  return { sources: [...OFFICIAL_XUMX.sources], hidden, layers, channels, bins, maxBin, perSource };
}
