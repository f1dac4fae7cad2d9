// Synchronised playback of all stems of a song on one AudioContext. Every source starts at the same context time
// from the same offset, so stems cannot drift apart: they share one sample clock for the whole song.
// Gains come from mixer.ts (effectiveGains); changes ramp over a few ms to avoid clicks.
// Graph per stem: source → fade (its own gain, for crossfades at a swap) → strip gain → analyser and master.
import { CROSSFADE_S, gainAt, planCrossfade, planFadeIn, type GainPoint } from './crossfade.ts';

export interface StemSource {
  name: string;
  url: string;
}

/** One playing source and the gain node it fades through. */
interface Voice {
  node: AudioBufferSourceNode;
  fade: GainNode;
  /** The fade-in it started with (null: none), to know its gain when a later swap fades it out. */
  fadeIn: GainPoint[] | null;
}

interface Strip {
  buffer: AudioBuffer;
  gain: GainNode;
  analyser: AnalyserNode;
  voice: Voice | null;
}

const START_LATENCY_S = 0.05;
const RAMP_S = 0.008;

export class StemPlayer {
  readonly context: AudioContext;
  private readonly master: GainNode;
  private readonly masterAnalyser: AnalyserNode;
  private strips = new Map<string, Strip>();
  private startedAt = 0;
  private offset = 0;
  private playing = false;
  private endTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly scratch = new Float32Array(2048);
  onEnded: () => void = () => {};

  /** The context is made here in the app; tests pass a stand-in that records the graph. */
  constructor(context: AudioContext = new AudioContext({ latencyHint: 'playback' })) {
    this.context = context;
    this.master = this.context.createGain();
    this.masterAnalyser = this.context.createAnalyser();
    this.masterAnalyser.fftSize = 2048;
    this.master.connect(this.masterAnalyser).connect(this.context.destination);
  }

  get duration(): number {
    let d = 0;
    for (const s of this.strips.values()) d = Math.max(d, s.buffer.duration);
    return d;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  get position(): number {
    if (!this.playing) return this.offset;
    return Math.min(this.duration, this.offset + Math.max(0, this.context.currentTime - this.startedAt));
  }

  /** Fetches and decodes every stem; replaces what was loaded before. */
  async load(sources: StemSource[], signal?: AbortSignal): Promise<void> {
    const buffers = await Promise.all(
      sources.map(async (s) => {
        const res = await fetch(s.url, { signal });
        if (!res.ok) throw new Error(`${s.name}: could not load the stem (${res.status})`);
        return this.context.decodeAudioData(await res.arrayBuffer());
      }),
    );
    this.unload();
    sources.forEach((s, i) => this.addStrip(s.name, buffers[i]));
  }

  /** The stems loaded now, in order. */
  get stems(): string[] {
    return [...this.strips.keys()];
  }

  /** Fetches and decodes a re-render's stems (bypassing the HTTP cache: the paths stay, the audio changes). */
  async fetchBuffers(sources: StemSource[], signal?: AbortSignal): Promise<Map<string, AudioBuffer>> {
    const buffers = await Promise.all(
      sources.map(async (s) => {
        const res = await fetch(s.url, { signal, cache: 'no-store' });
        if (!res.ok) throw new Error(`${s.name}: could not load the re-rendered stem (${res.status})`);
        return this.context.decodeAudioData(await res.arrayBuffer());
      }),
    );
    return new Map(sources.map((s, i) => [s.name, buffers[i]]));
  }

  /**
   * Replaces the stems' audio (a re-render with new separation controls, or the A/B switch) at the playhead: each
   * new buffer starts at the context time its old one begins a short crossfade (crossfade.ts), from the same song
   * position, so the change has neither a gap nor a click. The stem set becomes exactly the keys of `next`: a stem
   * the re-render adds (the residual) fades in, one it drops fades out. Returns the buffers it replaced, so the
   * caller can switch back (A/B).
   */
  swapBuffers(next: Map<string, AudioBuffer>): Map<string, AudioBuffer> {
    const previous = new Map<string, AudioBuffer>();
    for (const [name, strip] of this.strips) previous.set(name, strip.buffer);
    const when = this.context.currentTime + START_LATENCY_S;
    const at = this.playing ? this.offset + (when - this.startedAt) : this.offset;
    const plan = planCrossfade(when);
    for (const [name, strip] of [...this.strips]) {
      if (next.has(name)) continue;
      // A stem the new render does not have: fade it out, then take its strip out of the graph.
      this.strips.delete(name);
      const release = () => {
        strip.gain.disconnect();
        strip.analyser.disconnect();
      };
      if (strip.voice) this.fadeOut(strip.voice, fadeOutFrom(strip.voice, when), plan.stopOld, release);
      else release();
    }
    const strips = new Map<string, Strip>();
    for (const [name, buffer] of next) {
      const strip = this.strips.get(name) ?? this.addStrip(name, buffer);
      strips.set(name, strip);
      strip.buffer = buffer;
      if (!this.playing) continue;
      const old = strip.voice;
      strip.voice = this.startVoice(strip, when, at, old ? plan.fadeIn : planFadeIn(when));
      if (old) this.fadeOut(old, fadeOutFrom(old, when), plan.stopOld);
    }
    // Keep the order of `next` (the model's source order) for whoever lists the stems.
    this.strips = strips;
    return previous;
  }

  unload(): void {
    this.stopSources();
    for (const s of this.strips.values()) s.gain.disconnect();
    this.strips.clear();
    this.playing = false;
    this.offset = 0;
  }

  async play(): Promise<void> {
    if (this.playing || this.strips.size === 0) return;
    if (this.context.state === 'suspended') await this.context.resume();
    if (this.offset >= this.duration) this.offset = 0;
    const when = this.context.currentTime + START_LATENCY_S;
    for (const strip of this.strips.values()) strip.voice = this.startVoice(strip, when, this.offset, null);
    this.startedAt = when;
    this.playing = true;
    this.scheduleEnd();
  }

  pause(): void {
    if (!this.playing) return;
    this.offset = this.position;
    this.stopSources();
    this.playing = false;
  }

  seek(seconds: number): void {
    const t = Math.max(0, Math.min(this.duration, seconds));
    const wasPlaying = this.playing;
    if (wasPlaying) {
      this.stopSources();
      this.playing = false;
    }
    this.offset = t;
    if (wasPlaying) void this.play();
  }

  /** Linear gain per stem and for the master. */
  setGains(stems: Record<string, number>, master = 1): void {
    const now = this.context.currentTime;
    for (const [name, strip] of this.strips) strip.gain.gain.setTargetAtTime(stems[name] ?? 0, now, RAMP_S);
    this.master.gain.setTargetAtTime(master, now, RAMP_S);
  }

  /** RMS level in dBFS of each stem (after its gain) and of the master output. */
  levels(): { stems: Record<string, number>; master: number } {
    const stems: Record<string, number> = {};
    for (const [name, strip] of this.strips) stems[name] = this.rmsDb(strip.analyser);
    return { stems, master: this.rmsDb(this.masterAnalyser) };
  }

  async close(): Promise<void> {
    this.unload();
    await this.context.close();
  }

  private rmsDb(a: AnalyserNode): number {
    if (!this.playing) return -Infinity;
    a.getFloatTimeDomainData(this.scratch);
    let sum = 0;
    for (let i = 0; i < this.scratch.length; i++) sum += this.scratch[i] * this.scratch[i];
    const rms = Math.sqrt(sum / this.scratch.length);
    return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  }

  private addStrip(name: string, buffer: AudioBuffer): Strip {
    const gain = this.context.createGain();
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 2048;
    gain.connect(analyser);
    gain.connect(this.master);
    const strip: Strip = { buffer, gain, analyser, voice: null };
    this.strips.set(name, strip);
    return strip;
  }

  /** Starts the strip's buffer at context time `when` from song position `offset`, with an optional fade-in. */
  private startVoice(strip: Strip, when: number, offset: number, fadeIn: GainPoint[] | null): Voice {
    const fade = this.context.createGain();
    if (fadeIn) schedule(fade.gain, fadeIn);
    fade.connect(strip.gain);
    const node = this.context.createBufferSource();
    node.buffer = strip.buffer;
    node.connect(fade);
    node.start(when, Math.min(offset, strip.buffer.duration));
    return { node, fade, fadeIn };
  }

  private fadeOut(voice: Voice, points: GainPoint[], stopAt: number, then?: () => void): void {
    schedule(voice.fade.gain, points);
    voice.node.onended = () => {
      voice.node.disconnect();
      voice.fade.disconnect();
      then?.();
    };
    voice.node.stop(stopAt);
  }

  private stopSources(): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = null;
    for (const s of this.strips.values()) {
      if (!s.voice) continue;
      const { node, fade } = s.voice;
      node.onended = null;
      try {
        node.stop();
      } catch {
        // A source that already finished cannot be stopped again; nothing to undo.
      }
      node.disconnect();
      fade.disconnect();
      s.voice = null;
    }
  }

  private scheduleEnd(): void {
    const remaining = this.duration - this.offset + START_LATENCY_S;
    this.endTimer = setTimeout(() => {
      if (!this.playing) return;
      this.stopSources();
      this.playing = false;
      this.offset = this.duration;
      this.onEnded();
    }, remaining * 1000 + 20);
  }
}

/** Puts a gain schedule on a parameter: its first point as a set value, the rest as linear ramps. */
/** A voice's fade-out at `when`, from the gain its own fade-in has reached then. */
function fadeOutFrom(voice: Voice, when: number): GainPoint[] {
  return planCrossfade(when, CROSSFADE_S, voice.fadeIn ? gainAt(voice.fadeIn, when) : 1).fadeOut;
}

function schedule(param: AudioParam, points: GainPoint[]): void {
  const [first, ...rest] = points;
  if (!first) return;
  // Hold a ramp still under way where the new schedule begins (a fade cut short by the next swap) rather than
  // dropping back to its last value; older engines without cancelAndHoldAtTime cancel only.
  if (typeof param.cancelAndHoldAtTime === 'function') param.cancelAndHoldAtTime(first.time);
  else param.cancelScheduledValues(first.time);
  param.setValueAtTime(first.value, first.time);
  for (const p of rest) param.linearRampToValueAtTime(p.value, p.time);
}
