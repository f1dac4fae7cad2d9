// The separation-control flags of `separate`: --strength vocals=1.5,drums=0.8  --bleed vocals=0.2  --preset karaoke.
// Pure: text in, values or a usage message out. Whether a source exists is the model's to say (the engine checks).
import { BLEED_RANGE, BUILT_IN_PRESETS, findPreset, STRENGTH_RANGE } from '../engine/index.ts';
import type { SeparationControls } from '../engine/types.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

/** "vocals=1.5,drums=0.8" → { vocals: 1.5, drums: 0.8 }; repeated flags are joined, a later value wins. */
export function parseSourceValues(
  flag: string,
  texts: string[],
  range: { min: number; max: number },
): Parsed<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const part of texts.flatMap((t) => t.split(','))) {
    const m = /^\s*([a-z][a-z0-9_-]*)\s*=\s*([-+]?(?:\d+\.?\d*|\.\d+))\s*$/.exec(part);
    if (!m)
      return {
        ok: false,
        message: `--${flag} takes source=value pairs separated by commas (e.g. vocals=1.5,drums=0.8), not "${part}"`,
      };
    const value = Number(m[2]);
    if (!(value >= range.min && value <= range.max))
      return { ok: false, message: `--${flag} ${m[1]} must be from ${range.min} to ${range.max}, not ${m[2]}` };
    out[m[1]] = value;
  }
  return { ok: true, value: out };
}

export interface ControlFlags {
  strength?: string[];
  bleed?: string[];
  preset?: string;
}

/** The controls the flags ask for: the preset's first, then --strength/--bleed entries on top. */
export function controlsFromFlags(
  flags: ControlFlags,
): Parsed<{ strength?: Record<string, number>; bleed?: Record<string, number>; preset?: string }> {
  let base: Partial<SeparationControls> = {};
  if (flags.preset !== undefined) {
    const p = findPreset(flags.preset);
    if (!p)
      return {
        ok: false,
        message: `--preset must be one of ${BUILT_IN_PRESETS.map((x) => x.id).join(', ')}, not "${flags.preset}"`,
      };
    base = p.controls;
  }
  const strength = parseSourceValues('strength', flags.strength ?? [], STRENGTH_RANGE);
  if (!strength.ok) return strength;
  const bleed = parseSourceValues('bleed', flags.bleed ?? [], BLEED_RANGE);
  if (!bleed.ok) return bleed;
  const merged = { strength: { ...base.strength, ...strength.value }, bleed: { ...base.bleed, ...bleed.value } };
  return {
    ok: true,
    value: {
      ...(Object.keys(merged.strength).length ? { strength: merged.strength } : {}),
      ...(Object.keys(merged.bleed).length ? { bleed: merged.bleed } : {}),
      ...(flags.preset !== undefined ? { preset: flags.preset } : {}),
    },
  };
}
