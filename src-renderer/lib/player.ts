// Synchronised playback of all stems of a song on one AudioContext. Every source starts at the same context time
// from the same offset, so stems cannot drift apart: they share one sample clock for the whole song.
// Gains come from mixer.ts (effectiveGains); changes ramp over a few ms to avoid clicks.
// Graph per stem: source → fade (its own gain, for crossfades at a swap) → strip gain → analyser and master.
// At another tempo or key each stem's source is its own time stretcher (stretch-node.ts) instead of a buffer source;
// at the song's own tempo and key the buffer sources play, untouched. A change between the two crossfades, timed
// after the stretcher's latency; a change while stretched is scheduled on the stretchers, which glide to it.
import { CROSSFADE_S, gainAt, planCrossfade, planFadeIn, type GainPoint } from './crossfade.ts';
import { isBypassed, NEUTRAL_TIME_PITCH, type TimePitch } from '../../src-main/engine/dsp/time-pitch-settings.ts';
import { countInClicks, countInSeconds, scheduleClicks, type Meter } from './count-in.ts';
import { loopApplies, stretchLoop, wrappedPosition, type LoopRegion } from './loop.ts';

export interface StemSource {
  name: string;
  url: string;
}

/** A stretcher holding one stem's samples; `schedule` as signalsmith-stretch's (times in seconds). */
export interface StretchNode {
  connect(destination: AudioNode): unknown;
  disconnect(destination?: AudioNode): void;
  schedule(change: {
    output?: number; active?: boolean; input?: number; rate?: number; semitones?: number; loopStart?: number; loopEnd?: number;
  }): unknown;
  dropBuffers(): unknown;
  addBuffers(channels: Float32Array[], transfer?: ArrayBufferLike[]): unknown;
  /** Seconds between a scheduled input position and when it is heard. */
  readonly latencySeconds: number;
}

/** Makes a stretcher for one stem's buffer (stretch-node.ts in the app; tests pass stand-ins). */
export type StretchFactory = (context: AudioContext, buffer: AudioBuffer) => Promise<StretchNode>;

/** One playing source and the gain node it fades through. */
type Voice = (
  | { kind: 'buffer'; node: AudioBufferSourceNode }
  | { kind: 'stretch'; node: StretchNode }
) & {
  fade: GainNode;
  /** The fade-in it started with (null: none), to know its gain when a later swap fades it out. */
  fadeIn: GainPoint[] | null;
};

interface Strip {
  buffer: AudioBuffer;
  gain: GainNode;
  analyser: AnalyserNode;
  voice: Voice | null;
  /** The stretcher holding this buffer, made when a tempo or key other than the song's is first asked for. */
  stretch: StretchNode | null;
  making: Promise<void> | null;
}

/** How far ahead of now a start or a swap is scheduled, so every stem begins on the same frame. */
export const START_LATENCY_S = 0.05;
const RAMP_S = 0.008;

export class StemPlayer {
  readonly context: AudioContext;
  private readonly master: GainNode;
  private readonly masterAnalyser: AnalyserNode;
  private strips = new Map<string, Strip>();
  /** The stems' gains the mixer set last; null before it set any. */
  private mixerGains: Record<string, number> | null = null;
  private startedAt = 0;
  private offset = 0;
  /** Song seconds per context second since startedAt: the tempo of what is playing. */
  private rate = 1;
  private timePitch: TimePitch = { ...NEUTRAL_TIME_PITCH };
  /** Counts tempo/key changes, so one that waited for its stretchers does not undo a later one. */
  private timePitchChanges = 0;
  private playing = false;
  /** Wraps playback while set; a run from `offset` past its end does not wrap (loop.ts). */
  private loop: LoopRegion | null = null;
  private endTimer: ReturnType<typeof setTimeout> | null = null;
  /** Silences the count-in's clicks still to come. */
  private cancelClicks: (() => void) | null = null;
  private readonly scratch = new Float32Array(2048);
  onEnded: () => void = () => {};

  /** The context is made here in the app; tests pass a stand-in that records the graph. */
  constructor(
    context: AudioContext = new AudioContext({ latencyHint: 'playback' }),
    private readonly createStretch: StretchFactory | null = null,
  ) {
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
    return this.positionAt(this.context.currentTime);
  }

  /** The tempo and key asked for last. */
  get currentTimePitch(): TimePitch {
    return { ...this.timePitch };
  }

  /**
   * Plays at another tempo and key from now on. The first time away from the song's own it makes a stretcher per
   * stem (resolves once they are made); back at tempo 1 and 0 semitones the plain buffers play again.
   */
  async setTimePitch(tp: TimePitch): Promise<void> {
    const change = ++this.timePitchChanges;
    this.timePitch = { tempo: tp.tempo, semitones: tp.semitones };
    if (!isBypassed(tp)) await this.prepareStretchers();
    if (change !== this.timePitchChanges || !this.playing) return;
    const stretched = !isBypassed(this.timePitch);
    const voices = [...this.strips.values()].map((s) => s.voice).filter((v): v is Voice => v !== null);
    const now = this.context.currentTime;
    if (stretched && voices.every((v) => v.kind === 'stretch')) {
      // The stretchers continue from where they are; only the rate and shift change, smoothly.
      this.offset = this.positionAt(now);
      this.startedAt = Math.max(now, this.startedAt);
      this.rate = this.timePitch.tempo;
      for (const v of voices) if (v.kind === 'stretch') v.node.schedule({ output: now, rate: this.rate, semitones: this.timePitch.semitones });
    } else {
      // Between the plain buffers and the stretchers: a crossfade once the stretchers' output can be there.
      const when = this.swapTime(Math.max(START_LATENCY_S, this.stretchLatency() + RAMP_S));
      const at = this.positionAt(when);
      const plan = planCrossfade(when);
      this.offset = at;
      this.startedAt = when;
      this.rate = stretched ? this.timePitch.tempo : 1;
      for (const strip of this.strips.values()) {
        const old = strip.voice;
        strip.voice = this.startVoice(strip, when, at, plan.fadeIn);
        if (old) this.fadeOut(old, fadeOutFrom(old, when), plan.stopOld);
      }
    }
    this.scheduleEnd();
  }

  get currentLoop(): LoopRegion | null {
    return this.loop && { ...this.loop };
  }

  /**
   * Loops playback over `region` (song seconds) from now on, or stops looping (null). Playing, the running voices
   * take the loop in place: the plain buffers as their own loop points, the stretchers as scheduled loop points.
   */
  setLoop(region: LoopRegion | null): void {
    const now = this.context.currentTime;
    if (this.playing) {
      this.offset = this.positionAt(now);
      this.startedAt = Math.max(now, this.startedAt);
    }
    this.loop = region && { start: region.start, end: region.end };
    if (!this.playing) return;
    for (const strip of this.strips.values()) {
      const voice = strip.voice;
      if (voice?.kind === 'buffer') loopBuffer(voice.node, this.loop, this.offset);
      else if (voice) voice.node.schedule({ output: now, ...stretchLoop(this.loop, this.offset) });
    }
    this.scheduleEnd();
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
    if (!isBypassed(this.timePitch)) await this.prepareStretchers();
  }

  /** The stems loaded now, in order. */
  get stems(): string[] {
    return [...this.strips.keys()];
  }

  /** The audio heard now, by stem, in order (a change's first seconds are spliced into copies of it). */
  get buffers(): Map<string, AudioBuffer> {
    return new Map([...this.strips].map(([name, strip]) => [name, strip.buffer]));
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
    const previous = this.buffers;
    const when = this.swapTime(START_LATENCY_S);
    const at = this.positionAt(when);
    const plan = planCrossfade(when);
    for (const [name, strip] of [...this.strips]) {
      if (next.has(name)) continue;
      // A stem the new render does not have: fade it out, then take its strip out of the graph.
      this.strips.delete(name);
      const release = () => {
        strip.gain.disconnect();
        strip.analyser.disconnect();
        strip.stretch?.disconnect();
      };
      if (strip.voice) this.fadeOut(strip.voice, fadeOutFrom(strip.voice, when), plan.stopOld, release);
      else release();
    }
    const strips = new Map<string, Strip>();
    for (const [name, buffer] of next) {
      const strip = this.strips.get(name) ?? this.addStrip(name, buffer);
      strips.set(name, strip);
      if (strip.stretch && strip.buffer !== buffer) {
        // A stretcher lasts as long as the context (its processor never finishes), so it gets the new samples
        // rather than a successor. Playing, it reads its input a block at a time and overlaps its blocks, so the
        // new samples under the same position blend in over one block, as a crossfade would.
        strip.stretch.dropBuffers();
        strip.stretch.addBuffers(...stretchInput(buffer));
      }
      strip.buffer = buffer;
      if (strip.voice?.kind === 'stretch' || !this.playing) continue;
      const old = strip.voice;
      strip.voice = this.startVoice(strip, when, at, old ? plan.fadeIn : planFadeIn(when));
      if (old) this.fadeOut(old, fadeOutFrom(old, when), plan.stopOld);
    }
    if (!isBypassed(this.timePitch)) void this.prepareStretchers().then(() => this.startMissing());
    // Keep the order of `next` (the model's source order) for whoever lists the stems.
    this.strips = strips;
    return previous;
  }

  unload(): void {
    this.stopSources();
    for (const s of this.strips.values()) {
      s.gain.disconnect();
      s.stretch?.disconnect();
    }
    this.strips.clear();
    this.playing = false;
    this.offset = 0;
  }

  /** Starts playback; with a meter, after one bar of clicks at its tempo times the tempo control (count-in.ts). */
  async play(countIn: Meter | null = null): Promise<void> {
    if (this.playing || this.strips.size === 0) return;
    if (this.context.state === 'suspended') await this.context.resume();
    const stretched = !isBypassed(this.timePitch);
    if (stretched) await this.prepareStretchers();
    if (this.playing) return;
    if (this.offset >= this.duration) this.offset = 0;
    const lead = countIn ? countInSeconds(countIn, this.timePitch.tempo) : 0;
    const when = this.context.currentTime + Math.max(START_LATENCY_S, stretched ? this.stretchLatency() + RAMP_S : 0) + lead;
    if (countIn) this.cancelClicks = scheduleClicks(this.context, this.context.destination, countInClicks(countIn, this.timePitch.tempo, when));
    this.rate = stretched ? this.timePitch.tempo : 1;
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
    const voices = [...this.strips.values()].map((s) => s.voice);
    if (this.playing && voices.length > 0 && voices.every((v) => v?.kind === 'stretch')) {
      // Playing stretchers jump in place: no restart, so no wait for their latency.
      const now = this.context.currentTime;
      for (const v of voices) if (v?.kind === 'stretch') v.node.schedule({ output: now, input: t, ...stretchLoop(this.loop, t) });
      this.offset = t;
      this.startedAt = now;
      this.scheduleEnd();
      return;
    }
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
    this.mixerGains = { ...stems };
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
    // A stem the mixer has not set yet (a new render's residual) is silent until it has, so mute and solo hold.
    if (this.mixerGains) gain.gain.value = this.mixerGains[name] ?? 0;
    const strip: Strip = { buffer, gain, analyser, voice: null, stretch: null, making: null };
    this.strips.set(name, strip);
    return strip;
  }

  /**
   * Starts the strip at context time `when` from song position `offset`, with an optional fade-in: its buffer at
   * the song's own tempo and key, else its stretcher (none yet: nothing, startMissing starts it once made).
   */
  private startVoice(strip: Strip, when: number, offset: number, fadeIn: GainPoint[] | null): Voice | null {
    const stretched = !isBypassed(this.timePitch);
    if (stretched && !strip.stretch) return null;
    const fade = this.context.createGain();
    if (fadeIn) schedule(fade.gain, fadeIn);
    fade.connect(strip.gain);
    if (stretched && strip.stretch) {
      const node = strip.stretch;
      node.connect(fade);
      const { tempo, semitones } = this.timePitch;
      const input = Math.min(offset, strip.buffer.duration);
      node.schedule({ active: true, output: when, input, rate: tempo, semitones, ...stretchLoop(this.loop, input) });
      return { kind: 'stretch', node, fade, fadeIn };
    }
    const node = this.context.createBufferSource();
    node.buffer = strip.buffer;
    loopBuffer(node, this.loop, offset);
    node.connect(fade);
    node.start(when, Math.min(offset, strip.buffer.duration));
    return { kind: 'buffer', node, fade, fadeIn };
  }

  private fadeOut(voice: Voice, points: GainPoint[], stopAt: number, then?: () => void): void {
    schedule(voice.fade.gain, points);
    if (voice.kind === 'buffer') {
      voice.node.onended = () => {
        voice.node.disconnect();
        voice.fade.disconnect();
        then?.();
      };
      voice.node.stop(stopAt);
      return;
    }
    // A stretcher is kept for the next start; only this voice's connection to it goes.
    voice.node.schedule({ active: false, output: stopAt });
    setTimeout(() => {
      disconnectFrom(voice.node, voice.fade);
      voice.fade.disconnect();
      then?.();
    }, Math.max(0, stopAt - this.context.currentTime) * 1000 + 20);
  }

  /** Song position at context time t while playing: the stretchers advance `rate` song seconds per second. */
  private positionAt(t: number): number {
    if (!this.playing) return this.offset;
    const raw = this.offset + Math.max(0, t - this.startedAt) * this.rate;
    return Math.min(this.duration, wrappedPosition(this.loop, this.offset, raw));
  }

  /** Makes the stretchers the strips lack; they hold each strip's buffer and wait, stopped. */
  private async prepareStretchers(): Promise<void> {
    const create = this.createStretch;
    if (!create) throw new Error('This player cannot change tempo or key (no time stretcher).');
    await Promise.all([...this.strips.values()].map((strip) => {
      if (strip.stretch) return undefined;
      const buffer = strip.buffer;
      strip.making ??= create(this.context, buffer).then((node) => {
        strip.making = null;
        if (![...this.strips.values()].includes(strip)) return node.disconnect();
        // A swap while it was made: it gets the samples heard now.
        if (strip.buffer !== buffer) {
          node.dropBuffers();
          node.addBuffers(...stretchInput(strip.buffer));
        }
        strip.stretch = node;
      });
      return strip.making;
    }));
  }

  /** Starts, fading in, the strips a swap added while stretched whose stretchers are made now. */
  /**
   * When a change of what plays can take over, `lead` seconds from now at the earliest: never before the song itself
   * starts (after a count-in), where the voices it replaces are still waiting.
   */
  private swapTime(lead: number): number {
    const soonest = this.context.currentTime + lead;
    return this.playing ? Math.max(soonest, this.startedAt) : soonest;
  }

  private startMissing(): void {
    if (!this.playing || isBypassed(this.timePitch)) return;
    const when = this.swapTime(START_LATENCY_S);
    const at = this.positionAt(when);
    for (const strip of this.strips.values()) if (!strip.voice) strip.voice = this.startVoice(strip, when, at, planFadeIn(when));
  }

  private stretchLatency(): number {
    let latency = 0;
    for (const s of this.strips.values()) latency = Math.max(latency, s.stretch?.latencySeconds ?? 0);
    return latency;
  }

  private stopSources(): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = null;
    this.cancelClicks?.();
    this.cancelClicks = null;
    for (const s of this.strips.values()) {
      if (!s.voice) continue;
      const voice = s.voice;
      if (voice.kind === 'buffer') {
        voice.node.onended = null;
        try {
          voice.node.stop();
        } catch {
          // A source that already finished cannot be stopped again; nothing to undo.
        }
        voice.node.disconnect();
      } else {
        voice.node.schedule({ active: false });
        disconnectFrom(voice.node, voice.fade);
      }
      voice.fade.disconnect();
      s.voice = null;
    }
  }

  private scheduleEnd(): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = null;
    if (loopApplies(this.loop, this.offset)) return;
    const remaining = (this.duration - this.offset) / this.rate + Math.max(0, this.startedAt - this.context.currentTime);
    this.endTimer = setTimeout(() => {
      if (!this.playing) return;
      this.stopSources();
      this.playing = false;
      this.offset = this.duration;
      this.onEnded();
    }, remaining * 1000 + 20);
  }
}

/** A buffer source loops over the loop while a run from `from` reaches it; the points are its buffer's seconds. */
function loopBuffer(node: AudioBufferSourceNode, loop: LoopRegion | null, from: number): void {
  node.loop = loopApplies(loop, from);
  if (loop && node.loop) {
    node.loopStart = loop.start;
    node.loopEnd = loop.end;
  }
}

/** A voice's fade-out at `when`, from the gain its own fade-in has reached then. */
function fadeOutFrom(voice: Voice, when: number): GainPoint[] {
  return planCrossfade(when, CROSSFADE_S, voice.fadeIn ? gainAt(voice.fadeIn, when) : 1).fadeOut;
}

/** The samples a stretcher is given: copies (they are transferred to its worklet; the buffer stays playable). */
export function stretchInput(buffer: AudioBuffer): [Float32Array[], ArrayBufferLike[]] {
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c).slice());
  return [channels, channels.map((c) => c.buffer)];
}

function disconnectFrom(node: StretchNode, destination: AudioNode): void {
  try {
    node.disconnect(destination);
  } catch {
    // Not connected to it (already released); nothing to undo.
  }
}

/** Puts a gain schedule on a parameter: its first point as a set value, the rest as linear ramps. */
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
