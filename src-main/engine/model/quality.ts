// The quality a manifest's free-form `metrics` records, in one shape the Models view can show: per set, whether the
// scores were published by the weights' authors or measured on this project's own test, and the SDR per source.
import type { ModelQuality } from '../types.ts';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** { source: dB } when every value is a finite number, else null. */
function scores(v: unknown): Record<string, number> | null {
  if (!isObject(v)) return null;
  const entries = Object.entries(v);
  if (!entries.length || !entries.every(([, x]) => typeof x === 'number' && Number.isFinite(x))) return null;
  return Object.fromEntries(entries) as Record<string, number>;
}

/**
 * Three layouts are understood, the ones this project writes:
 * - `{ dataset, measure, sdr: {…}, measured_here }` (published weights, official.ts);
 * - `{ sdr_definition, <name>: { set, app_engine | model: {…} } }` (models trained here, measured in the app engine);
 * - `{ <set>_sdr: {…} }` (models/README.md's example).
 * Anything else yields no entry rather than a guess.
 */
export function qualityFromMetrics(metrics: Json): ModelQuality[] {
  const out: ModelQuality[] = [];
  const top = scores(metrics.sdr);
  if (top) {
    out.push({
      kind: metrics.measured_here === true ? 'measured' : 'published',
      set: typeof metrics.dataset === 'string' ? metrics.dataset : 'not stated',
      measure: typeof metrics.measure === 'string' ? metrics.measure : 'SDR in dB',
      sdr: top,
    });
  }
  const measure = typeof metrics.sdr_definition === 'string' ? metrics.sdr_definition : 'SDR in dB';
  for (const [key, v] of Object.entries(metrics)) {
    if (key === 'sdr') continue;
    if (isObject(v) && typeof v.set === 'string') {
      const s = scores(v.app_engine) ?? scores(v.model);
      if (s) out.push({ kind: 'measured', set: v.set, measure, sdr: s });
    } else if (key.endsWith('_sdr')) {
      const s = scores(v);
      if (s) out.push({ kind: 'measured', set: key.slice(0, -4).replace(/_/g, ' '), measure: 'SDR in dB', sdr: s });
    }
  }
  return out;
}
