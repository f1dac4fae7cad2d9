// Mixer math: fader positions in dB, mute and solo → the linear gain each stem actually plays at.
// Pure, so the player, the export-mix request and the tests all agree on one rule.

export interface StripState {
  /** Fader position; -Infinity is the fader's bottom stop (silence). */
  gainDb: number;
  muted: boolean;
  soloed: boolean;
}

export interface MixerState {
  strips: Record<string, StripState>;
  masterDb: number;
  /** Strips of stems a re-render dropped (the residual, turned off), kept for when they come back. */
  parked?: Record<string, StripState>;
}

export const FADER_MIN_DB = -60;
export const FADER_MAX_DB = 12;

export function dbToGain(db: number): number {
  return db === -Infinity ? 0 : 10 ** (db / 20);
}

export function gainToDb(gain: number): number {
  return gain <= 0 ? -Infinity : 20 * Math.log10(gain);
}

/** A fader at its bottom stop means silence rather than -60 dB of leakage. */
export function faderToDb(position: number): number {
  if (position <= FADER_MIN_DB) return -Infinity;
  return Math.min(FADER_MAX_DB, position);
}

export function initialMixer(sources: string[]): MixerState {
  return {
    strips: Object.fromEntries(sources.map((s) => [s, { gainDb: 0, muted: false, soloed: false }])),
    masterDb: 0,
  };
}

/**
 * The mixer for a new set of stems (a re-render that adds or drops the residual stem): stems that stay keep their
 * fader, mute and solo; dropped ones go (a soloed stem that is gone must not keep the others silent) but are parked,
 * so a stem that comes back gets its fader and mute again — not its solo, which would silence the rest anew; new
 * ones start at 0 dB. Stems follow the order of `sources`.
 */
export function withSources(state: MixerState, sources: string[]): MixerState {
  const fresh = initialMixer(sources).strips;
  const parked = { ...state.parked };
  for (const [name, strip] of Object.entries(state.strips)) if (!sources.includes(name)) parked[name] = strip;
  const strips = Object.fromEntries(
    sources.map((s) => {
      const back = parked[s];
      delete parked[s];
      return [s, state.strips[s] ?? (back ? { ...back, soloed: false } : fresh[s])];
    }),
  );
  return { ...state, strips, parked };
}

/**
 * Mute always silences a stem. When any stem is soloed, only soloed stems play. Master scales everything.
 * Returns the linear gain per stem.
 */
export function effectiveGains(state: MixerState): Record<string, number> {
  const anySolo = Object.values(state.strips).some((s) => s.soloed);
  const master = dbToGain(state.masterDb);
  const out: Record<string, number> = {};
  for (const [name, s] of Object.entries(state.strips)) {
    const audible = !s.muted && (!anySolo || s.soloed);
    out[name] = audible ? dbToGain(s.gainDb) * master : 0;
  }
  return out;
}

function withStrip(state: MixerState, source: string, patch: Partial<StripState>): MixerState {
  const strip = state.strips[source];
  if (!strip) return state;
  return { ...state, strips: { ...state.strips, [source]: { ...strip, ...patch } } };
}

export function toggleMute(state: MixerState, source: string): MixerState {
  return withStrip(state, source, { muted: !state.strips[source]?.muted });
}

export function toggleSolo(state: MixerState, source: string): MixerState {
  return withStrip(state, source, { soloed: !state.strips[source]?.soloed });
}

export function setGainDb(state: MixerState, source: string, db: number): MixerState {
  return withStrip(state, source, { gainDb: clampDb(db) });
}

export function setMasterDb(state: MixerState, db: number): MixerState {
  return { ...state, masterDb: clampDb(db) };
}

function clampDb(db: number): number {
  if (Number.isNaN(db)) return 0;
  return db === -Infinity ? db : Math.max(FADER_MIN_DB, Math.min(FADER_MAX_DB, db));
}

/** A short description of the mix for file names: "no vocals", "drums only", "drums + bass", "full mix", "custom mix". */
export function describeMix(state: MixerState): string {
  const gains = effectiveGains(state);
  const names = Object.keys(gains);
  const playing = names.filter((n) => gains[n] > 0);
  const untouched = names.every((n) => state.strips[n].gainDb === 0) && state.masterDb === 0;
  if (playing.length === 0) return 'silence';
  if (!untouched) return 'custom mix';
  if (playing.length === names.length) return 'full mix';
  const silent = names.filter((n) => gains[n] === 0);
  if (silent.length === 1) return `no ${silent[0]}`;
  if (playing.length === 1) return `${playing[0]} only`;
  return playing.join(' + ');
}
