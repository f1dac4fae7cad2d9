// Presets: named separation controls plus the mix they are meant to be heard with, as data. Built-in ones ship
// here; users' own are stored as JSON in the app's data folder (presets.json) and validated by parsePresetFile.
// Source names are X-UMX's; a model without one of them simply ignores that entry (resolvePreset).
import { XumxError } from '../errors.ts';
import type { SeparationControls } from '../types.ts';
import { checkPartialControls, withDefaults } from '../dsp/controls.ts';

export interface Preset {
  /** Lower-case id used by `--preset` and in presets.json. */
  id: string;
  name: string;
  /** Separation controls; what is left out stays at the model's recommended value (controlsWithPreset). */
  controls: Partial<SeparationControls>;
  /** Sources the mix leaves out. */
  mute: string[];
  /** Gain per source in dB for the mix (0 dB where not listed). */
  gainsDb: Record<string, number>;
  builtIn: boolean;
}

export const PRACTICE_GAIN_DB = -12;
const PRACTICE = ['vocals', 'drums', 'bass', 'other'] as const;
const PRACTICE_NAMES: Record<(typeof PRACTICE)[number], string> = {
  vocals: 'Practice vocals',
  drums: 'Practice drums',
  bass: 'Practice bass',
  other: 'Practice guitar/keys (other)',
};

/**
 * Karaoke and the "-less" presets take the instrument out of the mix and let its stem claim a little more of every
 * cell (strength < 1), so less of it stays behind in the stems that are heard. A cappella does the opposite: the
 * vocal stem keeps only what is clearly vocal (strength > 1, bleed reduction) because it is heard alone.
 */
export const BUILT_IN_PRESETS: readonly Preset[] = Object.freeze([
  preset('karaoke', 'Karaoke (no vocals)', { strength: { vocals: 0.7 } }, ['vocals']),
  preset('a-cappella', 'A cappella (vocals only)', { strength: { vocals: 1.4 }, bleed: { vocals: 0.15 } }, [
    'drums',
    'bass',
    'other',
  ]),
  preset('drumless', 'Drumless', { strength: { drums: 0.75 } }, ['drums']),
  preset('bassless', 'Bassless', { strength: { bass: 0.75 } }, ['bass']),
  ...PRACTICE.map((s) => preset(`practice-${s}`, `${PRACTICE_NAMES[s]} (−12 dB)`, {}, [], { [s]: PRACTICE_GAIN_DB })),
]);

function preset(
  id: string,
  name: string,
  controls: Partial<SeparationControls>,
  mute: string[],
  gainsDb: Record<string, number> = {},
): Preset {
  return { id, name, controls, mute, gainsDb, builtIn: true };
}

export function findPreset(id: string, userPresets: readonly Preset[] = []): Preset | undefined {
  return BUILT_IN_PRESETS.find((p) => p.id === id) ?? userPresets.find((p) => p.id === id);
}

/** A preset narrowed to a model's sources: entries for sources the model does not have are dropped. */
export function resolvePreset(p: Preset, sources: readonly string[]): Preset {
  const keep = <T>(r: Record<string, T> | undefined) =>
    r && Object.fromEntries(Object.entries(r).filter(([s]) => sources.includes(s)));
  const controls: Partial<SeparationControls> = { ...p.controls };
  if (p.controls.strength) controls.strength = keep(p.controls.strength);
  if (p.controls.bleed) controls.bleed = keep(p.controls.bleed);
  return { ...p, controls, mute: p.mute.filter((s) => sources.includes(s)), gainsDb: keep(p.gainsDb) ?? {} };
}

/** A preset's controls for a model with these sources: what it names (for them) over `defaults`, the model's controls. */
export function controlsWithPreset(
  p: Preset,
  sources: readonly string[],
  defaults: SeparationControls,
): SeparationControls {
  return withDefaults(resolvePreset(p, sources).controls, defaults);
}

/** Linear mix gain per source (0 = muted). */
export function presetGains(p: Preset, sources: readonly string[]): Record<string, number> {
  return Object.fromEntries(sources.map((s) => [s, p.mute.includes(s) ? 0 : 10 ** ((p.gainsDb[s] ?? 0) / 20)]));
}

const PRESET_ID = /^[a-z0-9][a-z0-9-]{0,47}$/;
export const PRESET_FILE_VERSION = 1;

/** Checks one user preset (from presets.json or the UI); `where` names the file or request in messages. */
export function parsePreset(json: unknown, where: string): Preset {
  const bad = (reason: string) => new XumxError('BAD_ARGUMENT', `${where}: ${reason}`, where);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('a preset must be a JSON object');
  const p = json as Record<string, unknown>;
  if (typeof p.id !== 'string' || !PRESET_ID.test(p.id))
    throw bad(`preset id ${JSON.stringify(p.id)} must be lower-case letters, digits and "-"`);
  if (BUILT_IN_PRESETS.some((b) => b.id === p.id)) throw bad(`"${p.id}" is a built-in preset's id`);
  if (typeof p.name !== 'string' || !p.name.trim() || p.name.length > 80)
    throw bad(`preset "${p.id}" needs a name of 1-80 characters`);
  const c = p.controls ?? {};
  let controls: Partial<SeparationControls>;
  try {
    controls = checkPartialControls(c);
  } catch (err) {
    throw bad(`preset "${p.id}": ${(err as Error).message}`);
  }
  const mute = p.mute ?? [];
  if (!Array.isArray(mute) || !mute.every((s) => typeof s === 'string'))
    throw bad(`preset "${p.id}": mute must be a list of source names`);
  const gainsDb = numbers(p.gainsDb ?? {}, `preset "${p.id}": gainsDb`, { min: -60, max: 12 }, bad);
  return { id: p.id, name: p.name.trim(), controls, mute: [...mute], gainsDb, builtIn: false };
}

function numbers(
  v: unknown,
  what: string,
  range: { min: number; max: number },
  bad: (r: string) => XumxError,
): Record<string, number> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${what} must map source names to numbers`);
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x !== 'number' || !Number.isFinite(x) || x < range.min || x > range.max)
      throw bad(`${what} of ${k} must be from ${range.min} to ${range.max}`);
    out[k] = x;
  }
  return out;
}

/** presets.json → the user's presets. A broken file is an error naming the file; the caller decides what to keep. */
export function parsePresetFile(text: string, path: string): Preset[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new XumxError('BAD_ARGUMENT', `${path}: not valid JSON (${(err as Error).message})`, path);
  }
  const f = json as { version?: unknown; presets?: unknown };
  if (typeof f !== 'object' || f === null || f.version !== PRESET_FILE_VERSION || !Array.isArray(f.presets)) {
    throw new XumxError('BAD_ARGUMENT', `${path}: not a version ${PRESET_FILE_VERSION} preset file`, path);
  }
  const presets = f.presets.map((p) => parsePreset(p, path));
  const ids = new Set<string>();
  for (const p of presets) {
    if (ids.has(p.id)) throw new XumxError('BAD_ARGUMENT', `${path}: preset "${p.id}" appears twice`, path);
    ids.add(p.id);
  }
  return presets;
}

export function serializePresetFile(presets: readonly Preset[]): string {
  const stored = presets.filter((p) => !p.builtIn).map(({ builtIn: _, ...rest }) => rest);
  return `${JSON.stringify({ version: PRESET_FILE_VERSION, presets: stored }, null, 2)}\n`;
}
