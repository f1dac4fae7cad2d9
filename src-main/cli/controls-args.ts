// The separation-control flags of `separate`: --strength vocals=1.5,drums=0.8  --bleed vocals=0.2  --preset karaoke.
// Pure: text in, values or a usage message out. The text is read here; the values are checked by the engine's one
// controls check (well-formed source names, ranges), and whether a source exists is checked against the chosen
// model's sources once, before any file is separated (flagControlsForModel).
import { asXumxError, BUILT_IN_PRESETS, checkPartialControls, findPreset } from '../engine/index.ts';
import type { SeparationControls } from '../engine/types.ts';
import { readNumber } from './numbers.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string };

const FLAGS = ['strength', 'bleed'] as const;
type SourceFlag = (typeof FLAGS)[number];
/** A value each flag takes, for messages. */
const EXAMPLE: Record<SourceFlag, string> = { strength: '1.5', bleed: '0.2' };
const PAIRS = 'give source=value pairs separated by commas (e.g. vocals=1.5,drums=0.8)';

/**
 * "vocals=1.5,drums=0.8" → { vocals: 1.5, drums: 0.8 }. A source named twice in one list is refused (which value
 * was meant?); repeated flags are joined, a later flag's value winning, as with any repeated option.
 */
export function parseSourceValues(flag: SourceFlag, texts: string[]): Parsed<Record<string, number>> {
  const values = new Map<string, number>();
  for (const text of texts) {
    const inThisList = new Set<string>();
    for (const part of text.split(',')) {
      if (!part.trim())
        return { ok: false, message: `--${flag} "${text}": an empty entry (a comma too many); ${PAIRS}` };
      const eq = part.indexOf('=');
      const source = part.slice(0, eq).trim();
      const value = part.slice(eq + 1).trim();
      if (eq < 0 || !source)
        return {
          ok: false,
          message: `--${flag} takes source=value pairs separated by commas (e.g. vocals=1.5,drums=0.8), not "${part}"`,
        };
      if (!value)
        return {
          ok: false,
          message: `--${flag} of ${source} has no value after "=" (e.g. ${source}=${EXAMPLE[flag]})`,
        };
      const n = readNumber(value);
      if (!n.ok)
        return {
          ok: false,
          message:
            n.problem === 'not finite'
              ? `--${flag} of ${source} must be a finite number, not "${value}"`
              : `--${flag} ${source}: "${value}" is not a number`,
        };
      if (inThisList.has(source)) return { ok: false, message: `--${flag} names ${source} twice in "${text}"` };
      inThisList.add(source);
      values.set(source, n.value);
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

/** The sources --strength and --bleed name themselves (not through a preset): each must be one of the model's. */
export type FlagSources = Partial<Record<SourceFlag, string[]>>;

export interface FlagControls {
  strength?: Record<string, number>;
  bleed?: Record<string, number>;
  preset?: string;
  flagSources?: FlagSources;
}

/** The controls the flags ask for: the preset's first, then --strength/--bleed entries on top. */
export function controlsFromFlags(flags: ControlFlags): Parsed<FlagControls> {
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
  const given = {} as Record<SourceFlag, Record<string, number>>;
  for (const flag of FLAGS) {
    const parsed = parseSourceValues(flag, flags[flag] ?? []);
    if (!parsed.ok) return parsed;
    given[flag] = parsed.value;
  }
  const out: FlagControls = {};
  const flagSources: FlagSources = {};
  for (const flag of FLAGS) {
    const values = given[flag];
    const merged = { ...base[flag], ...values };
    if (Object.keys(merged).length) out[flag] = merged;
    if (Object.keys(values).length) flagSources[flag] = Object.keys(values);
  }
  if (flags.preset !== undefined) out.preset = flags.preset;
  if (Object.keys(flagSources).length) out.flagSources = flagSources;
  return { ok: true, value: out };
}

/**
 * The controls for a model with `sources`: a source named by --strength or --bleed that the model lacks is refused,
 * naming the flag, the source and the model's sources; a preset's entry for a source the model lacks is left out, as
 * the app narrows a preset to the model (resolvePreset).
 */
export function flagControlsForModel(
  cmd: FlagControls,
  model: { id: string; sources: readonly string[] },
): Parsed<Pick<FlagControls, 'strength' | 'bleed'>> {
  const out: Pick<FlagControls, 'strength' | 'bleed'> = {};
  for (const flag of FLAGS) {
    const unknown = cmd.flagSources?.[flag]?.find((s) => !model.sources.includes(s));
    if (unknown !== undefined)
      return {
        ok: false,
        message: `--${flag}: the model "${model.id}" has no source "${unknown}" (its sources: ${model.sources.join(', ')})`,
      };
    const kept = Object.entries(cmd[flag] ?? {}).filter(([s]) => model.sources.includes(s));
    if (kept.length) out[flag] = Object.fromEntries(kept);
  }
  return { ok: true, value: out };
}
