// The separation-controls panel's pure logic: slider positions ↔ control values, presets → controls and mixer,
// the model's recommended controls, and a small A/B record of which render is heard. Kept out of the component so
// it is tested with plain values.
//
// The panel edits a complete set of controls (a source with no strength or bleed entry is at the neutral value, 1
// or 0), as the song saves it and the engine renders it; the model's recommended controls are only a starting
// point, shown on the sliders and offered by reset and under presets.
import type { ModelInfo, Preset, SeparationControls, SongControls } from '../../src-main/api/contract.ts';
import { canonicalControls, DEFAULT_SEPARATION_CONTROLS } from '../../src-main/engine/dsp/controls.ts';
import { controlsWithPreset } from '../../src-main/engine/separate/presets.ts';
import { initialMixer, type MixerState } from './mixer.ts';

/** The stem a render adds when the leftover gets its own stem (SeparationControls.residual). */
export const RESIDUAL_STEM = 'residual';

/** The stems that have separation controls of their own: every stem but the residual. */
export function controlledSources(sources: readonly string[]): string[] {
  return sources.filter((s) => s !== RESIDUAL_STEM);
}

/** Strength slider: position p in [-2, 2] ↔ strength 2^p (0.25 … 4), so 1 sits in the middle. */
export const STRENGTH_POSITION = { min: -2, max: 2, step: 0.05 } as const;
export const BLEED_SLIDER = { min: 0, max: 0.9, step: 0.05 } as const;

export function strengthFromPosition(p: number): number {
  return Math.round(2 ** p * 1000) / 1000;
}

export function positionFromStrength(s: number): number {
  return Math.log2(s);
}

export type SourceControl = 'strength' | 'bleed';
const NEUTRAL: Record<SourceControl, number> = { strength: 1, bleed: 0 };

/** Each per-source slider: its label, its range in positions, and positions ↔ values. */
export const SOURCE_SLIDERS: Record<
  SourceControl,
  {
    label: string;
    aria: string;
    range: { min: number; max: number; step: number };
    position(v: number): number;
    value(p: number): number;
  }
> = {
  strength: {
    label: 'Strength',
    aria: 'separation strength',
    range: STRENGTH_POSITION,
    position: positionFromStrength,
    value: strengthFromPosition,
  },
  bleed: { label: 'Bleed', aria: 'bleed reduction', range: BLEED_SLIDER, position: (v) => v, value: (p) => p },
};

/** One source's strength or bleed in a complete set of controls. */
export function sourceValue(c: SeparationControls, kind: SourceControl, source: string): number {
  return c[kind]?.[source] ?? NEUTRAL[kind];
}

/** Whether one source's strength or bleed is what the model recommends. */
export function isModelDefault(
  c: SeparationControls,
  defaults: SeparationControls,
  kind: SourceControl,
  source: string,
): boolean {
  return sourceValue(c, kind, source) === sourceValue(defaults, kind, source);
}

/** The recommended controls of the model a song was separated with; neutral for a model no longer installed. */
export function modelDefaults(models: readonly ModelInfo[], modelId: string | undefined): SeparationControls {
  return models.find((m) => m.id === modelId)?.defaultControls ?? DEFAULT_SEPARATION_CONTROLS;
}

/** The Wiener iterations the panel offers: 0 to 3, and the model's and the song's own when they are more. */
export function wienerChoices(c: SeparationControls, defaults: SeparationControls): number[] {
  return [...new Set([0, 1, 2, 3, defaults.wienerIterations, c.wienerIterations])].sort((a, b) => a - b);
}

/** Every control back at the model's recommended value. */
export function resetToDefaults(defaults: SeparationControls): SongControls {
  return { controls: { ...defaults }, presetId: null };
}

/**
 * Sets one source's strength or bleed; the neutral value removes the entry (in a complete set that is what no entry
 * means, whatever the model recommends), so equal settings compare equal.
 */
export function withSourceValue(sc: SongControls, kind: SourceControl, source: string, value: number): SongControls {
  const table = { ...(sc.controls[kind] ?? {}) };
  if (value === NEUTRAL[kind]) delete table[source];
  else table[source] = value;
  const controls: SeparationControls = { ...sc.controls };
  if (Object.keys(table).length) controls[kind] = table;
  else delete controls[kind];
  return { controls, presetId: null };
}

export function withGlobal(
  sc: SongControls,
  patch: Partial<Pick<SeparationControls, 'wienerIterations' | 'residual' | 'softmask'>>,
): SongControls {
  return { controls: { ...sc.controls, ...patch }, presetId: null };
}

/**
 * A preset's controls for a song with these sources: what it names, the rest at the model's `defaults`, except the
 * Wiener iterations, a quality-for-time choice the song keeps from its `current` controls unless the preset names them.
 */
export function presetControls(
  p: Preset,
  sources: string[],
  defaults: SeparationControls,
  current: SeparationControls = defaults,
): SongControls {
  const base = { ...defaults, wienerIterations: current.wienerIterations };
  return { controls: controlsWithPreset(p, sources, base), presetId: p.id };
}

/** The mixer a preset asks for: its muted stems muted, its gains set, everything else at 0 dB. */
export function presetMixer(p: Preset, sources: string[], masterDb: number): MixerState {
  const m = initialMixer(sources);
  for (const s of sources) {
    m.strips[s] = { gainDb: p.gainsDb[s] ?? 0, muted: p.mute.includes(s), soloed: false };
  }
  return { ...m, masterDb };
}

/**
 * A user preset from the current controls and mix. A preset is laid over a model's recommended controls, so every
 * source's strength and bleed is written out, the neutral ones too: the preset gives back exactly what was heard.
 */
export function presetFrom(name: string, sc: SongControls, mixer: MixerState, sources: readonly string[]): Preset {
  const id =
    name
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'my-preset';
  const mute = Object.entries(mixer.strips)
    .filter(([, s]) => s.muted)
    .map(([n]) => n);
  const gainsDb = Object.fromEntries(
    Object.entries(mixer.strips)
      .filter(([, s]) => s.gainDb !== 0 && Number.isFinite(s.gainDb))
      .map(([n, s]) => [n, s.gainDb]),
  );
  const { wienerIterations, residual, softmask } = sc.controls;
  const every = (kind: SourceControl) => Object.fromEntries(sources.map((s) => [s, sourceValue(sc.controls, kind, s)]));
  return {
    id: `my-${id}`.slice(0, 48),
    name: name.trim(),
    controls: { strength: every('strength'), bleed: every('bleed'), wienerIterations, residual, softmask },
    mute,
    gainsDb,
    builtIn: false,
  };
}

export function sameControls(a: SeparationControls, b: SeparationControls): boolean {
  return JSON.stringify(canonicalControls(a)) === JSON.stringify(canonicalControls(b));
}

/**
 * A control's moves turned into renders: the first move of a control at rest renders at once (a click or a key is
 * heard soonest), and of the moves that follow within `ms` of each other (a slider dragged) only the newest, once the
 * control has rested `ms`, so a drag does not start a render for every position it passes.
 */
export function renderOnChange<T>(render: (value: T) => void, ms: number): { push(value: T): void; cancel(): void } {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let next: { value: T } | null = null;
  const rest = () => {
    timer = null;
    if (next) render(next.value);
    next = null;
  };
  return {
    push(value) {
      if (timer) {
        clearTimeout(timer);
        next = { value };
      } else render(value);
      timer = setTimeout(rest, ms);
    },
    /** The move waiting for the control to rest does not render. */
    cancel() {
      if (timer) clearTimeout(timer);
      timer = null;
      next = null;
    },
  };
}
