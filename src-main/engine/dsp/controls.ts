// Per-instrument separation controls, applied to the network's magnitude estimates before the Wiener filter.
// Pure math on plain arrays; the pipeline calls it once per chunk.
//
// Both act on a source's mask, its share of the estimates' sum in a cell: m_j = v_j / Σ_k v_k (≤ 1 always,
// whatever the network's scale, unlike v_j / |x| which a network may push above 1).
// strength s (per source, default 1): an exponent on the source's estimate, normalised so s = 1 is the identity,
//     v_j ← Σ_k v_k · m_j^s
//   s > 1: the source keeps only the cells it clearly dominates (a stricter, cleaner stem; the rest goes to the
//   other sources through the Wiener filter). s < 1: the source claims more of every cell (a fuller stem that pulls
//   more of itself out of the others, e.g. for karaoke).
// bleed t (per source, default 0): a soft threshold on the source's mask m_j = v_j / Σ_k v_k,
//     m_j ← max(0, m_j − t) / (1 − t),  v_j ← m_j · Σ_k v_k
//   t = 0 is the identity; cells where the source holds less than t of the mixture are dropped from it, and
//   everything above is stretched back so a cell the source fully owns stays fully its own.
// Strength comes first (all sources against the network's sum), then bleed on the strengthened estimates (with
// their new sum).
import { XumxError } from '../errors.ts';
import type { Spectrogram } from './stft.ts';
import { type ControlsBase, SOURCE_NAME_PATTERN, type SeparationControls } from '../types.ts';

export const STRENGTH_RANGE = { min: 0.25, max: 4 } as const;
export const BLEED_RANGE = { min: 0, max: 0.9 } as const;
export const WIENER_ITERATIONS_MAX = 10;

/** The neutral controls (the X-UMX evaluation's): what a model that recommends none starts from. */
export const DEFAULT_SEPARATION_CONTROLS: SeparationControls = {
  wienerIterations: 1,
  softmask: false,
  residual: false,
};

/** Whether the controls change no estimate (every strength 1, every bleed 0): the filter then sees the network's output. */
export function isIdentity(controls: Pick<SeparationControls, 'strength' | 'bleed'>): boolean {
  return (
    Object.values(controls.strength ?? {}).every((s) => s === 1) &&
    Object.values(controls.bleed ?? {}).every((t) => t === 0)
  );
}

const CONTROL_FIELDS = ['wienerIterations', 'softmask', 'residual', 'strength', 'bleed'];
/** More per-source entries than any model has stems: a request naming more is refused before it is looked at. */
const MAX_SOURCES = 16;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(message: string): never {
  throw new XumxError('BAD_ARGUMENT', message);
}

/**
 * The one check for separation controls, from any door, from presets and from a model's manifest: unknown fields,
 * out-of-range or non-finite values and bad source names are errors (a typo in `--strength voclas=2` must not pass
 * silently); only the fields given come back, every entry kept (a neutral one too: it may override a model's
 * default). With the model's `sources`, every named source must be one of them; without (a door checking a request
 * before it knows the model, a preset meant for any model), a source name need only be well formed.
 */
export function checkPartialControls(v: unknown, sources?: readonly string[]): Partial<SeparationControls> {
  if (!isRecord(v)) bad('controls must be an object');
  for (const k of Object.keys(v))
    if (!CONTROL_FIELDS.includes(k)) bad(`controls has an unknown field "${k.slice(0, 40)}"`);
  const out: Partial<SeparationControls> = {};
  const n = v.wienerIterations;
  if (n !== undefined) {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > WIENER_ITERATIONS_MAX)
      bad(`Wiener iterations must be a whole number from 0 to ${WIENER_ITERATIONS_MAX}, got ${String(n).slice(0, 40)}`);
    out.wienerIterations = n;
  }
  for (const flag of ['softmask', 'residual'] as const) {
    if (v[flag] === undefined) continue;
    if (typeof v[flag] !== 'boolean') bad(`${flag} must be true or false`);
    out[flag] = v[flag] as boolean;
  }
  const strength = perSource('strength', v.strength, sources, STRENGTH_RANGE);
  if (strength) out.strength = strength;
  const bleed = perSource('bleed', v.bleed, sources, BLEED_RANGE);
  if (bleed) out.bleed = bleed;
  return out;
}

/**
 * checkPartialControls over the neutral controls: a complete set, as a song saves it. Against a model's sources it
 * is canonical (canonicalControls); without, every entry is kept.
 */
export function checkControls(v: unknown, sources?: readonly string[]): SeparationControls {
  const complete = { ...DEFAULT_SEPARATION_CONTROLS, ...checkPartialControls(v, sources) };
  return sources ? canonicalControls(complete) : complete;
}

/** The fields of a manifest's `default_controls` (snake_case, as the manifest's own) and the controls they set. */
export const MANIFEST_DEFAULT_FIELDS = {
  strength: 'strength',
  bleed: 'bleed',
  wiener_iterations: 'wienerIterations',
} as const satisfies Record<string, keyof SeparationControls>;

/**
 * The one canonical form of a complete set of controls: a source with no strength or bleed entry has the neutral
 * value (1, 0), no entry holds it, and entries are in source-name order, so that equal settings are equal JSON.
 */
export function canonicalControls(c: SeparationControls): SeparationControls {
  const out: SeparationControls = {
    wienerIterations: c.wienerIterations,
    softmask: c.softmask,
    residual: c.residual,
  };
  for (const [kind, neutral] of [
    ['strength', 1],
    ['bleed', 0],
  ] as const) {
    const kept = Object.entries(c[kind] ?? {})
      .filter(([, v]) => v !== neutral)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (kept.length) out[kind] = Object.fromEntries(kept);
  }
  return out;
}

/** `partial` laid over the complete `base`, per field and per source (a neutral entry in `partial` wins too). */
export function withDefaults(partial: Partial<SeparationControls>, base: SeparationControls): SeparationControls {
  return canonicalControls({
    ...base,
    ...partial,
    strength: { ...base.strength, ...partial.strength },
    bleed: { ...base.bleed, ...partial.bleed },
  });
}

/** A model's recommended controls: its manifest's `default_controls` over the neutral ones. */
export function modelDefaultControls(model: { defaultControls?: Partial<SeparationControls> }): SeparationControls {
  return withDefaults(model.defaultControls ?? {}, DEFAULT_SEPARATION_CONTROLS);
}

/**
 * The controls a request renders with on a model: checked against its sources, then laid over its recommended
 * controls (`base` 'model') or over the neutral ones (`base` 'neutral'); canonical.
 */
export function controlsForModel(
  partial: Partial<SeparationControls> | undefined,
  model: { sources: readonly string[]; defaultControls?: Partial<SeparationControls> },
  base: ControlsBase = 'model',
): SeparationControls {
  const checked = checkPartialControls(partial ?? {}, model.sources);
  return withDefaults(checked, base === 'model' ? modelDefaultControls(model) : DEFAULT_SEPARATION_CONTROLS);
}

function perSource(
  name: string,
  values: unknown,
  sources: readonly string[] | undefined,
  range: { min: number; max: number },
): Record<string, number> | undefined {
  if (values === undefined) return undefined;
  if (!isRecord(values)) bad(`${name} must map source names to numbers`);
  const entries = Object.entries(values);
  if (entries.length > MAX_SOURCES) bad(`${name} names too many sources`);
  const out: Record<string, number> = {};
  for (const [source, v] of entries) {
    if (!SOURCE_NAME_PATTERN.test(source))
      bad(`${name}: "${source.slice(0, 40)}" is not a source name (lower case, a letter first, such as "vocals")`);
    if (sources && !sources.includes(source))
      bad(`${name}: the model has no source "${source}" (its sources: ${sources.join(', ')})`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < range.min || v > range.max)
      bad(`${name} of ${source} must be a number from ${range.min} to ${range.max}, got ${String(v).slice(0, 40)}`);
    out[source] = v;
  }
  return out;
}

/**
 * Applies strength and bleed in place.
 * @param estimates per source (model order) its magnitudes [2][bins][frames] for one chunk.
 */
export function applyControls(
  estimates: Float32Array[],
  sources: readonly string[],
  controls: Pick<SeparationControls, 'strength' | 'bleed'>,
): void {
  if (estimates.length !== sources.length) {
    throw new XumxError('BAD_ARGUMENT', `controls: ${estimates.length} estimates for ${sources.length} sources`);
  }
  const n = estimates[0].length;
  const exponents = sources.map((name) => controls.strength?.[name] ?? 1);
  if (exponents.some((s) => s !== 1)) applyStrength(estimates, exponents, n);
  const thresholds = sources.map((name) => controls.bleed?.[name] ?? 0);
  if (thresholds.some((t) => t !== 0)) applyBleed(estimates, thresholds, n);
}

function applyStrength(estimates: Float32Array[], exponents: number[], n: number): void {
  const J = estimates.length;
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let j = 0; j < J; j++) total += estimates[j][i];
    if (!(total > 0)) continue; // nothing to share out; a zero estimate stays zero for any exponent
    for (let j = 0; j < J; j++) {
      const s = exponents[j];
      const v = estimates[j][i];
      if (s !== 1 && v > 0) estimates[j][i] = total * Math.exp(s * Math.log(v / total));
    }
  }
}

function applyBleed(estimates: Float32Array[], thresholds: number[], n: number): void {
  const J = estimates.length;
  for (let i = 0; i < n; i++) {
    let total = 0;
    for (let j = 0; j < J; j++) total += estimates[j][i];
    if (!(total > 0)) continue;
    for (let j = 0; j < J; j++) {
      const t = thresholds[j];
      if (t === 0) continue;
      const m = estimates[j][i] / total;
      estimates[j][i] = m > t ? ((m - t) / (1 - t)) * total : 0;
    }
  }
}

/**
 * Residual handling "add to other": what the filtered sources leave over of the mixture, x − Σ_j y_j, is added to
 * source `target` in place. With Wiener iterations ≥ 1 the leftover is tiny; with 0 iterations (magnitudes with the
 * mixture's phase) or after bleed reduction it is what no source claimed.
 */
export function addLeftover(
  sources: [Spectrogram, Spectrogram][],
  mix: [Spectrogram, Spectrogram],
  target: number,
): void {
  for (let c = 0; c < 2; c++) {
    const x = mix[c];
    const out = sources[target][c];
    const n = x.bins * x.frames;
    for (let i = 0; i < n; i++) {
      let re = x.re[i],
        im = x.im[i];
      for (let j = 0; j < sources.length; j++) {
        re -= sources[j][c].re[i];
        im -= sources[j][c].im[i];
      }
      out.re[i] += re;
      out.im[i] += im;
    }
  }
}
