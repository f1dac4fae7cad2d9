// The separation-control flags of `separate`: --strength vocals=1.5,drums=0.8  --bleed vocals=0.2  --preset karaoke.
// Pure: text in, values or a usage message out. The text is read here; the values are checked by the engine's one
// controls check (well-formed source names, ranges), and whether a source exists is the model's to say.
import { asXumxError, BUILT_IN_PRESETS, checkPartialControls, findPreset } from '../engine/index.ts';
import type { SeparationControls } from '../engine/types.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)$/;

/**
 * "vocals=1.5,drums=0.8" → { vocals: 1.5, drums: 0.8 }. A source named twice in one list is refused (which value
 * was meant?); repeated flags are joined, a later flag's value winning, as with any repeated option.
 */
export function parseSourceValues(flag: 'strength' | 'bleed', texts: string[]): Parsed<Record<string, number>> {
  const values = new Map<string, number>();
  for (const text of texts) {
    const inThisList = new Set<string>();
    for (const part of text.split(',')) {
      const eq = part.indexOf('=');
      const source = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (eq < 0 || !source)
        return {
          ok: false,
          message: `--${flag} takes source=value pairs separated by commas (e.g. vocals=1.5,drums=0.8), not "${part}"`,
        };
      if (!NUMBER.test(value)) return { ok: false, message: `--${flag} ${source}: "${value}" is not a number` };
      if (inThisList.has(source)) return { ok: false, message: `--${flag} names ${source} twice in "${text}"` };
      inThisList.add(source);
      values.set(source, Number(value));
    }
  }
  // Own properties whatever the name, "__proto__" included, so that the check sees every one.
  const out: Record<string, number> = Object.fromEntries(values);
  try {
    checkPartialControls({ [flag]: out });
  } catch (err) {
    // The engine's messages start with the control's name, which is the flag's.
    return { ok: false, message: `--${asXumxError(err).message}` };
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
  const strength = parseSourceValues('strength', flags.strength ?? []);
  if (!strength.ok) return strength;
  const bleed = parseSourceValues('bleed', flags.bleed ?? []);
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
