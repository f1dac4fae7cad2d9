// The separation-controls panel's pure logic: slider positions ↔ control values, presets → controls and mixer,
// and a small A/B record of which render is heard. Kept out of the component so it is tested with plain values.
import type { Preset, SeparationControls, SongControls } from '../../src-main/api/contract.ts';
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

/** Sets one source's strength or bleed; the neutral value removes the entry so equal settings compare equal. */
export function withSourceValue(
  sc: SongControls,
  kind: 'strength' | 'bleed',
  source: string,
  value: number,
): SongControls {
  const neutral = kind === 'strength' ? 1 : 0;
  const table = { ...(sc.controls[kind] ?? {}) };
  if (value === neutral) delete table[source];
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

/** A preset's controls for a song with these sources (entries for other sources dropped), on top of the defaults. */
export function presetControls(p: Preset, sources: string[], base: SeparationControls): SongControls {
  const pick = (t?: Record<string, number>) =>
    t ? Object.fromEntries(Object.entries(t).filter(([s]) => sources.includes(s))) : undefined;
  const strength = pick(p.controls.strength);
  const bleed = pick(p.controls.bleed);
  const controls: SeparationControls = {
    wienerIterations: p.controls.wienerIterations ?? base.wienerIterations,
    softmask: p.controls.softmask ?? false,
    residual: p.controls.residual ?? false,
    ...(strength && Object.keys(strength).length ? { strength } : {}),
    ...(bleed && Object.keys(bleed).length ? { bleed } : {}),
  };
  return { controls, presetId: p.id };
}

/** The mixer a preset asks for: its muted stems muted, its gains set, everything else at 0 dB. */
export function presetMixer(p: Preset, sources: string[], masterDb: number): MixerState {
  const m = initialMixer(sources);
  for (const s of sources) {
    m.strips[s] = { gainDb: p.gainsDb[s] ?? 0, muted: p.mute.includes(s), soloed: false };
  }
  return { ...m, masterDb };
}

/** A user preset from the current controls and mix. */
export function presetFrom(name: string, sc: SongControls, mixer: MixerState): Preset {
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
  const { strength, bleed, wienerIterations, residual, softmask } = sc.controls;
  return {
    id: `my-${id}`.slice(0, 48),
    name: name.trim(),
    controls: { strength, bleed, wienerIterations, residual, softmask },
    mute,
    gainsDb,
    builtIn: false,
  };
}

export function sameControls(a: SeparationControls, b: SeparationControls): boolean {
  const norm = (c: SeparationControls) =>
    JSON.stringify([c.wienerIterations, c.softmask, c.residual, sorted(c.strength), sorted(c.bleed)]);
  return norm(a) === norm(b);
}

function sorted(t?: Record<string, number>): [string, number][] {
  return Object.entries(t ?? {}).sort(([a], [b]) => a.localeCompare(b));
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
