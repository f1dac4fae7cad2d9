// Streaming sample-rate conversion by a polyphase windowed-sinc filter, run by the DSP kernels (resampleRun).
// It replaces libsamplerate for the default quality because libsamplerate was the slowest stage of any song not at
// 44.1 kHz (bench/dsp.bench.ts: ~30x real time per stereo stream, i.e. a 48 kHz song's input and its four output
// stems took longer than separating it). libsamplerate stays for 'best' and for rate pairs whose reduced ratio
// would need more than MAX_PHASES filter phases.
//
// Design, for rates fs_in → fs_out with L/M = fs_out/fs_in in lowest terms: a Kaiser-windowed sinc with its cutoff
// midway between 85% and 100% of the lower Nyquist frequency, 100 dB stopband attenuation; the transition band
// (15% of that Nyquist) sets the length, T taps at the input rate (T ≈ 98 for 48 → 44.1 kHz). Output k is at input
// position k·M/L, so the stream is time-aligned with its input, like libsamplerate's; each phase's taps sum to 1.
import { XumxError } from '../errors.ts';
import type { DspKernels } from './kernels/index.ts';
import type { StreamingResampler } from './streaming-resampler.ts';

/** Phases (L) up to which a rate pair is converted here; 44.1 kHz from any common rate needs at most 441. */
export const MAX_PHASES = 1024;
const STOPBAND_DB = 100;
const PASSBAND_EDGE = 0.85;

export interface PolyphaseFilter {
  L: number;
  M: number;
  /** Taps per phase, a multiple of 4 (zero-padded); H = T / 2 before padding sets where the taps start. */
  T: number;
  H: number;
  /** [L][T] coefficients. */
  coef: Float32Array;
}

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The reduced ratio L/M = to/from, or null when it needs more than MAX_PHASES phases. */
export function polyphaseRatio(from: number, to: number): { L: number; M: number } | null {
  const g = gcd(from, to);
  const L = to / g,
    M = from / g;
  return L <= MAX_PHASES ? { L, M } : null;
}

/** Zeroth-order modified Bessel function of the first kind, by its power series. */
function besselI0(x: number): number {
  let sum = 1,
    term = 1;
  const q = (x / 2) * (x / 2);
  for (let k = 1; k < 200 && term > 1e-17 * sum; k++) {
    term *= q / (k * k);
    sum += term;
  }
  return sum;
}

export function designPolyphase(from: number, to: number): PolyphaseFilter {
  const ratio = polyphaseRatio(from, to);
  if (!ratio)
    throw new XumxError('BAD_ARGUMENT', `polyphase: ${from} -> ${to} Hz needs more than ${MAX_PHASES} phases`);
  const { L, M } = ratio;
  const nyquist = Math.min(from, to) / 2;
  const cutoff = (((1 + PASSBAND_EDGE) / 2) * nyquist) / from; // cycles per input sample
  const transition = ((1 - PASSBAND_EDGE) * nyquist) / from;
  // Kaiser's formulas: beta for the attenuation, length from attenuation and transition width.
  const beta = 0.1102 * (STOPBAND_DB - 8.7);
  const length = Math.ceil((STOPBAND_DB - 8) / (2.285 * 2 * Math.PI * transition));
  const H = Math.ceil(length / 2);
  const taps = 2 * H;
  const T = (taps + 3) & ~3;
  const coef = new Float32Array(L * T);
  const i0Beta = besselI0(beta);
  for (let phase = 0; phase < L; phase++) {
    const row = new Float64Array(taps);
    let sum = 0;
    for (let i = 0; i < taps; i++) {
      // distance from the output position to the tap's input sample
      const t = phase / L + H - 1 - i;
      const u = t / H;
      const window = Math.abs(u) >= 1 ? 0 : besselI0(beta * Math.sqrt(1 - u * u)) / i0Beta;
      const x = 2 * cutoff * t;
      row[i] = 2 * cutoff * (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x)) * window;
      sum += row[i];
    }
    for (let i = 0; i < taps; i++) coef[phase * T + i] = row[i] / sum;
  }
  return { L, M, T, H, coef };
}

const filters = new Map<string, PolyphaseFilter>();

function filterFor(from: number, to: number): PolyphaseFilter {
  const key = `${from}:${to}`;
  let f = filters.get(key);
  if (!f) {
    f = designPolyphase(from, to);
    if (filters.size >= 8) filters.delete(filters.keys().next().value as string);
    filters.set(key, f);
  }
  return f;
}

/**
 * A streaming converter with the StreamingResampler contract: the outputs of process() calls and flush() together
 * are round(total input · to / from) samples per channel.
 */
export function createPolyphaseResampler(
  k: DspKernels,
  from: number,
  to: number,
  channelCount: number,
): StreamingResampler {
  const { L, M, T, H, coef } = filterFor(from, to);
  // Heap slots shared by every converter of the thread (a run() never yields, so they cannot interleave).
  const slot = (name: string, bytes: number) => k.slot(`polyphase.${name}`, bytes);
  // Per channel the input not yet fully used; starts with H − 1 zeros standing for the silence before the stream.
  let pending: Float32Array[] = Array.from({ length: channelCount }, () => new Float32Array(Math.max(0, H - 1)));
  /** Global input index of pending[c][0]. */
  let pendingStart = -(H - 1);
  let framesIn = 0;
  let produced = 0;
  let destroyed = false;

  const position = (out: number) => ({ n: Math.floor((out * M) / L), phase: (out * M) % L });

  /** Produces outputs up to (excluding) `limit` from pending input (plus `more` appended), keeping what later outputs need. */
  const run = (more: Float32Array[], limit: number): Float32Array[] => {
    const available = pending[0].length + more[0].length;
    const last = pendingStart + available - 1; // global index of the last input sample we have
    // Output k needs input up to n_k + H.
    // the first k with n_k + H > last, give or take one (checked below)
    let end = Math.max(produced, Math.min(limit, Math.floor(((last - H) * L) / M) + 1));
    while (end > produced && position(end - 1).n + H > last) end--;
    const count = end - produced;
    const out = Array.from({ length: channelCount }, () => new Float32Array(count));
    const pCoef = slot('coef', 4 * coef.length);
    const pBuf = slot('buf', 4 * (available + T + 4));
    const pOut = slot('out', 4 * Math.max(1, count));
    k.f32(pCoef, coef.length).set(coef);
    const keepFrom = count > 0 ? position(end).n - H + 1 : pendingStart; // first input the next output needs
    const drop = Math.max(0, Math.min(available, keepFrom - pendingStart));
    const next: Float32Array[] = [];
    for (let c = 0; c < channelCount; c++) {
      const buf = k.f32(pBuf, available + T + 4);
      buf.set(pending[c]);
      buf.set(more[c], pending[c].length);
      buf.fill(0, available);
      if (count > 0) {
        const { n, phase } = position(produced);
        k.k.resampleRun(pBuf, pendingStart, n, phase, count, pCoef, T, L, M, H, pOut);
        out[c].set(k.f32(pOut, count));
      }
      next.push(buf.slice(drop, available));
    }
    pending = next;
    pendingStart += drop;
    produced = end;
    return out;
  };

  const check = () => {
    if (destroyed) throw new XumxError('INTERNAL', 'resampler used after destroy()');
  };

  return {
    process(planar) {
      check();
      if (planar.length !== channelCount || planar.some((ch) => ch.length !== planar[0].length)) {
        throw new XumxError('BAD_ARGUMENT', `resampler expects ${channelCount} channels of equal length`);
      }
      framesIn += planar[0].length;
      return run(planar, Infinity);
    },
    flush() {
      check();
      const target = Math.round((framesIn * L) / M);
      // Silence after the stream, enough for the taps of the last outputs.
      const tail = Array.from({ length: channelCount }, () => new Float32Array(2 * H + Math.ceil(M / L) + 4));
      return run(tail, target);
    },
    destroy() {
      destroyed = true;
    },
  };
}
