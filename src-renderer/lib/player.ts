// Synchronised playback of all stems of a song on one AudioContext, streamed: the render heard is read in blocks
// (block-source.ts, all stems at once) and only a window around the playhead is held (AHEAD_SECONDS ahead,
// BEHIND_SECONDS behind). At the song's own tempo and key each block is a buffer source per stem, started at the
// context time the block before it ends, so the stems share one sample clock and the joins are seamless; at another
// tempo or key each stem plays through its own time stretcher (stretch-node.ts), which is given the blocks in order
// and lets go of those behind. Gains come from mixer.ts (effectiveGains); changes ramp over a few ms.
// Graph per stem: sources or stretcher → fade (its own gain, for crossfades) → strip gain → analyser and master.
// Another render (a control change, the A/B switch) is switched to at the playhead as soon as its block there has
// arrived (the block the playhead will be in by the time it comes, judged by how long the last one took; the switch
// waits for the playhead to reach it where it comes sooner): the two crossfade (crossfade.ts) from the same song
// position, so there is neither a gap nor a click.
// While a render is still being written, only its final frames are read: playback waits at their end.
import { CROSSFADE_S, gainAt, planCrossfade, planFadeIn, type GainPoint } from './crossfade.ts';
import { isBypassed, NEUTRAL_TIME_PITCH, type TimePitch } from '../../src-main/engine/dsp/time-pitch-settings.ts';
import { countInClicks, countInSeconds, scheduleClicks, type Meter } from './count-in.ts';
import { loopApplies, stretchLoop, wrappedPosition, type LoopRegion } from './loop.ts';
import { blocksOf, playOrder, type FrameSpan } from './block-plan.ts';
import type { Block, BlockSource, StreamView } from './block-source.ts';

/** A stretcher fed one stem's samples in order; `schedule` as signalsmith-stretch's (times in seconds). */
export interface StretchNode {
  connect(destination: AudioNode): unknown;
  disconnect(destination?: AudioNode): void;
  schedule(change: {
    output?: number;
    active?: boolean;
    input?: number;
    rate?: number;
    semitones?: number;
    loopStart?: number;
    loopEnd?: number;
  }): unknown;
  /** Drops every sample it holds (its input time starts at 0 again). */
  dropBuffers(): unknown;
  /** Appends samples after those it holds. */
  addBuffers(channels: Float32Array[], transfer?: ArrayBufferLike[]): unknown;
  /** Seconds between a scheduled input position and when it is heard. */
  readonly latencySeconds: number;
}

/** Makes an empty stretcher with `channels` channels (stretch-node.ts in the app; tests pass stand-ins). */
export type StretchFactory = (context: AudioContext, channels: number) => Promise<StretchNode>;

/** Seconds of song per block asked for: a change is heard once one block of it has been rendered and read. */
export const BLOCK_SECONDS = 2;
/** Song seconds read ahead of the playhead. */
export const AHEAD_SECONDS = 8;
/** Song seconds kept behind it (a short step back, the blocks a crossfade still plays). */
export const BEHIND_SECONDS = 1;
/** How far ahead of now a start or a swap is scheduled, so every stem begins on the same frame. */
export const START_LATENCY_S = 0.05;
/** How far behind the playhead the stretchers' samples may start before they are given them from nearer. */
const REBASE_SECONDS = 8;
/** Blocks scheduled on buffer sources at most this far ahead of now (a loop held whole would be endless). */
const SCHEDULE_AHEAD_S = 3;
const RAMP_S = 0.008;
const PUMP_MS = 100;
/** A switch due this little past the usual lead is scheduled at once rather than on a timer. */
const SWITCH_SLACK_S = 0.02;
/** After a block is refused or not ready, asked again after this, doubling each time up to RETRY_MAX_MS. */
const RETRY_MS = 250;
const RETRY_MAX_MS = 4000;
/** Refusals in a row after which the listener is told why the audio does not come. */
const REPORT_AFTER = 3;
const IN_FLIGHT = 2;
/**
 * Seconds a new render's block at the playhead is expected to take to come before any has (it is rendered on demand):
 * the playhead moves on meanwhile, so the block it will be in then is asked for first.
 */
const FIRST_WAIT_S = 0.5;
const STEREO = 2;

/** A block as the player holds it: one buffer per stem. */
interface HeldBlock {
  from: number;
  frames: number;
  stems: Map<string, AudioBuffer>;
}

/** A render being streamed: its view and the blocks of it held now, by index. */
interface Stream {
  view: StreamView;
  blocks: Map<number, HeldBlock>;
  /** Not asked again below this many ready frames (until `retry` fires): the source refused or had nothing yet. */
  askedAt: number;
  /** Refusals and "not ready" answers in a row, and the timer that asks again after the last. */
  failures: number;
  retry: ReturnType<typeof setTimeout> | null;
}

type Voice = ({ kind: 'buffer'; nodes: AudioBufferSourceNode[] } | { kind: 'stretch'; node: StretchNode }) & {
  fade: GainNode;
  /** The fade-in it started with (null: none), to know its gain when a later swap fades it out. */
  fadeIn: GainPoint[] | null;
};

interface Strip {
  gain: GainNode;
  analyser: AnalyserNode;
  voice: Voice | null;
  stretch: StretchNode | null;
  making: Promise<void> | null;
}

/** What the player holds of the song now. */
export interface HeldAudio {
  /** Frames in the blocks held (all streams), and the song seconds around the playhead they reach. */
  frames: number;
  /** Bytes of samples held: the blocks and the samples given to the stretchers. */
  bytes: number;
}

export class StemPlayer {
  readonly context: AudioContext;
  private readonly master: GainNode;
  private readonly masterAnalyser: AnalyserNode;
  private strips = new Map<string, Strip>();
  private source: BlockSource | null = null;
  /** The render heard, and the one being switched to (null: none). */
  private heard: Stream | null = null;
  private target: Stream | null = null;
  private readonly inFlight = new Map<
    string,
    { stream: Stream; index: number; abort: AbortController; done: Promise<void> }
  >();
  /** The stems' gains the mixer set last; null before it set any. */
  private mixerGains: Record<string, number> | null = null;
  private startedAt = 0;
  private offset = 0;
  /** Song seconds per context second since startedAt: the tempo of what is playing. */
  private rate = 1;
  private timePitch: TimePitch = { ...NEUTRAL_TIME_PITCH };
  private timePitchChanges = 0;
  private playing = false;
  /** Stopped where the final frames end, to go on once more of them are read. */
  private waiting = false;
  /** Buffer sources: the song frame scheduled next and the context time it starts at. */
  private cursor: { frame: number; time: number } | null = null;
  /** Stretchers: song frame of their input time 0, and the frame their samples reach. */
  private stretchBase = 0;
  private stretchEnd = 0;
  private loop: LoopRegion | null = null;
  private endTimer: ReturnType<typeof setTimeout> | null = null;
  private pumpTimer: ReturnType<typeof setTimeout> | null = null;
  /** Fires as the playhead reaches the target render's block that came before the playhead was in it. */
  private switchTimer: ReturnType<typeof setTimeout> | null = null;
  /** How long the target render's block at the playhead takes to come once asked for (s, smoothed over switches). */
  private expectedWait = FIRST_WAIT_S;
  private cancelClicks: (() => void) | null = null;
  /** Settles open()'s promise with the first block read, or the first failure. */
  private opening: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  private readonly scratch = new Float32Array(2048);
  onEnded: () => void = () => {};
  /** Another render is heard from context time `when` on. */
  onSwitch: (revision: number, when: number) => void = () => {};
  /** A block could not be read; playback keeps what it has. */
  onError: (e: unknown) => void = () => {};

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

  private get sampleRate(): number {
    return this.heard?.view.sampleRate ?? this.context.sampleRate;
  }

  private get blockFrames(): number {
    return Math.round(BLOCK_SECONDS * this.sampleRate);
  }

  get duration(): number {
    return this.heard ? this.heard.view.frames / this.heard.view.sampleRate : 0;
  }

  /** Song seconds from 0 that can be played now (less than the duration while the first separation runs). */
  get readySeconds(): number {
    return this.heard ? askable(this.heard.view) / this.heard.view.sampleRate : 0;
  }

  /** The render heard now (null before open). */
  get revision(): number | null {
    return this.heard?.view.revision ?? null;
  }

  /** The render heard now, as last updated (null before open). */
  get view(): StreamView | null {
    return this.heard && { ...this.heard.view };
  }

  get isPlaying(): boolean {
    return this.playing || this.waiting;
  }

  get position(): number {
    if (!this.playing) return this.offset;
    return this.positionAt(this.context.currentTime);
  }

  get currentTimePitch(): TimePitch {
    return { ...this.timePitch };
  }

  get currentLoop(): LoopRegion | null {
    return this.loop && { ...this.loop };
  }

  /** The stems heard now, in order. */
  get stems(): string[] {
    return [...this.strips.keys()];
  }

  held(): HeldAudio {
    let frames = 0,
      bytes = 0;
    for (const s of [this.heard, this.target]) {
      for (const b of s?.blocks.values() ?? []) {
        frames += b.frames;
        for (const buffer of b.stems.values()) bytes += b.frames * buffer.numberOfChannels * 4;
      }
    }
    const stretchers = [...this.strips.values()].filter((s) => s.stretch).length;
    bytes += Math.max(0, this.stretchEnd - this.stretchBase) * STEREO * 4 * stretchers;
    return { frames, bytes };
  }

  /**
   * Plays `view` read from `source` from now on, from the start; replaces what was open. Resolves once the first
   * block is held (playable), rejects when it cannot be read.
   */
  open(source: BlockSource, view: StreamView): Promise<void> {
    this.unload();
    this.source = source;
    this.heard = { view: { ...view }, blocks: new Map(), askedAt: -1, failures: 0, retry: null };
    for (const name of view.sources) this.addStrip(name);
    const first = new Promise<void>((resolve, reject) => (this.opening = { resolve, reject }));
    this.pump();
    return first;
  }

  /** More of a render is final (a running separation), or its length is known now. */
  update(view: StreamView): void {
    for (const s of [this.heard, this.target]) if (s && s.view.revision === view.revision) s.view = { ...view };
    this.pump();
  }

  /**
   * Switches to another render at the playhead: its block there is read first, then the ones after, and the two
   * crossfade as soon as that block is held (paused: at once). The render being switched to may be named again,
   * with more of it final. Returns the render heard until now.
   */
  switchTo(view: StreamView): StreamView | null {
    const before = this.heard && { ...this.heard.view };
    if (!this.heard || view.revision === this.heard.view.revision) {
      this.target = null;
      if (this.heard) this.update(view);
      return before;
    }
    // Named again while on its way (the app passes on each report of a running re-render): what is read or held
    // of it stays, or a block that takes longer than the time between two reports would never arrive.
    if (view.revision === this.target?.view.revision) {
      this.update(view);
      return before;
    }
    this.dropStream(this.target);
    this.stopSwitchTimer();
    this.target = { view: { ...view }, blocks: new Map(), askedAt: -1, failures: 0, retry: null };
    mark('player:switch-asked', { revision: view.revision });
    if (!this.playing) this.takeTarget(null);
    this.pump();
    return before;
  }

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
      for (const v of voices)
        if (v.kind === 'stretch')
          v.node.schedule({ output: now, rate: this.rate, semitones: this.timePitch.semitones });
    } else {
      // Between the buffer sources and the stretchers: a crossfade once the stretchers' output can be there.
      const when = this.swapTime(Math.max(START_LATENCY_S, this.stretchLatency() + RAMP_S));
      const at = this.positionAt(when);
      const plan = planCrossfade(when);
      this.offset = at;
      this.startedAt = when;
      this.rate = stretched ? this.timePitch.tempo : 1;
      const old = [...this.strips.values()].map((s) => s.voice);
      this.startVoices(when, at, () => plan.fadeIn);
      [...this.strips.values()].forEach((_, i) => {
        const v = old[i];
        if (v) this.fadeOut(v, fadeOutFrom(v, when), plan.stopOld);
      });
    }
    this.scheduleEnd();
    this.pump();
  }

  /** Loops playback over `region` (song seconds) from now on, or stops looping (null). */
  setLoop(region: LoopRegion | null): void {
    const now = this.context.currentTime;
    if (this.playing) {
      this.offset = this.positionAt(now);
      this.startedAt = Math.max(now, this.startedAt);
    }
    this.loop = region && { start: region.start, end: region.end };
    if (!this.playing) return;
    const voices = [...this.strips.values()].map((s) => s.voice);
    if (voices.some((v) => v?.kind === 'stretch')) {
      for (const v of voices)
        if (v?.kind === 'stretch') v.node.schedule({ output: now, ...this.stretchLoopAt(this.offset) });
    } else {
      // What is scheduled past the next moment goes; the same samples follow on from the same frame, wrapping now.
      const when = this.swapTime(START_LATENCY_S);
      const at = this.positionAt(when);
      for (const v of voices) if (v?.kind === 'buffer') stopNodes(v.nodes, when);
      this.offset = at;
      this.startedAt = when;
      this.cursor = { frame: this.frameOf(at), time: when };
    }
    this.scheduleEnd();
    this.pump();
  }

  unload(): void {
    this.stopSources();
    this.stopPumping();
    for (const f of this.inFlight.values()) f.abort.abort();
    this.inFlight.clear();
    for (const s of this.strips.values()) {
      s.gain.disconnect();
      s.analyser.disconnect();
      s.stretch?.disconnect();
    }
    this.strips.clear();
    this.opening?.reject(new Error('closed before any audio arrived'));
    this.opening = null;
    this.dropStream(this.heard);
    this.dropStream(this.target);
    this.heard = this.target = null;
    this.playing = this.waiting = false;
    this.offset = 0;
  }

  /** Starts playback; with a meter, after one bar of clicks at its tempo times the tempo control (count-in.ts). */
  async play(countIn: Meter | null = null): Promise<void> {
    if (this.playing || this.strips.size === 0 || !this.heard) return;
    if (this.context.state === 'suspended') await this.context.resume();
    const stretched = !isBypassed(this.timePitch);
    if (stretched) await this.prepareStretchers();
    if (this.playing) return;
    this.waiting = false;
    // A refusal while paused set no retry (nobody was waiting): asked again now.
    for (const stream of [this.heard, this.target]) if (stream && !stream.retry) stream.askedAt = -1;
    if (this.offset >= this.duration) this.offset = 0;
    const lead = countIn ? countInSeconds(countIn, this.timePitch.tempo) : 0;
    const when =
      this.context.currentTime + Math.max(START_LATENCY_S, stretched ? this.stretchLatency() + RAMP_S : 0) + lead;
    if (countIn)
      this.cancelClicks = scheduleClicks(
        this.context,
        this.context.destination,
        countInClicks(countIn, this.timePitch.tempo, when),
      );
    this.rate = stretched ? this.timePitch.tempo : 1;
    this.startedAt = when;
    this.playing = true;
    this.startVoices(when, this.offset, () => null);
    this.scheduleEnd();
    this.pump();
  }

  pause(): void {
    this.waiting = false;
    if (!this.playing) return;
    this.offset = this.position;
    this.stopSources();
    this.stopPumping();
    this.playing = false;
  }

  /** Moves the playhead (within what can be played); the blocks there are read first. */
  seek(seconds: number): void {
    const t = Math.max(0, Math.min(this.readySeconds, seconds));
    for (const stream of [this.heard, this.target]) if (stream) stream.askedAt = -1;
    const voices = [...this.strips.values()].map((s) => s.voice);
    if (this.playing && voices.length > 0 && voices.every((v) => v?.kind === 'stretch')) {
      // Playing stretchers jump in place: no restart, so no wait for their latency.
      const now = this.context.currentTime;
      this.offset = t;
      this.startedAt = now;
      this.seatStretchers(now, t, {});
      this.scheduleEnd();
      this.pump();
      return;
    }
    const wasPlaying = this.playing;
    if (wasPlaying) {
      this.stopSources();
      this.playing = false;
    }
    this.offset = t;
    this.pump();
    if (wasPlaying) void this.play();
  }

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

  /** Resolves once no block is being read (what was asked for has arrived or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight.values()].map((f) => f.done));
  }

  async close(): Promise<void> {
    this.unload();
    await this.context.close();
  }

  /**
   * Keeps things moving: switches to the target render once it can, schedules or feeds the blocks held, waits
   * where they end, lets go of blocks outside the window and asks for the missing ones, nearest first.
   */
  pump(): void {
    if (!this.heard) return;
    if (this.target && this.playing) this.takeTarget(this.swapTime(START_LATENCY_S));
    if (this.target && this.playing) this.switchWhenReached(this.target);
    if (this.playing) {
      if (this.cursor) this.scheduleBlocks();
      else this.feedStretchers();
    } else if (this.waiting && this.heldAt(this.heard, this.frameOf(this.offset))) {
      void this.play();
      return;
    }
    this.evict();
    this.request();
    if (this.playing && !this.pumpTimer) {
      this.pumpTimer = setTimeout(() => {
        this.pumpTimer = null;
        this.pump();
      }, PUMP_MS);
    }
  }

  private frameOf(seconds: number): number {
    return Math.round(seconds * this.sampleRate);
  }

  private loopFrames(): FrameSpan | null {
    return this.loop && { start: this.frameOf(this.loop.start), end: this.frameOf(this.loop.end) };
  }

  /** The block of `stream` holding frame `frame`, if it is held that far. */
  private heldAt(stream: Stream, frame: number): HeldBlock | null {
    const b = stream.blocks.get(Math.floor(frame / this.blockFrames));
    return b && frame >= b.from && frame < b.from + b.frames ? b : null;
  }

  /** The blocks a stream needs now, nearest first: those the playhead runs through next, then those just behind. */
  private wanted(stream: Stream): number[] {
    const sr = this.sampleRate;
    const at = this.frameOf(this.playing ? this.positionAt(this.context.currentTime + START_LATENCY_S) : this.offset);
    const total = stream.view.frames;
    const ahead = blocksOf(
      playOrder(at, Math.round(AHEAD_SECONDS * sr * Math.max(1, this.rate)), total, this.loopFrames()),
      this.blockFrames,
    );
    const behind = blocksOf([{ start: Math.max(0, at - Math.round(BEHIND_SECONDS * sr)), end: at }], this.blockFrames);
    const out = [...ahead, ...behind.filter((i) => !ahead.includes(i))];
    // Stretchers hold a loop whole: it is what they wrap over.
    const loop = this.loopFrames();
    if (stream === this.heard && !this.cursor && this.playing && loop && loopApplies(this.loop, this.offset)) {
      for (const i of blocksOf([{ start: this.stretchBase, end: loop.end }], this.blockFrames))
        if (!out.includes(i)) out.push(i);
    }
    return out;
  }

  private request(): void {
    const source = this.source;
    if (!source) return;
    const order: [Stream, number][] = [];
    const target = this.target && this.targetOrder(this.target);
    const heard = this.heard ? this.wanted(this.heard) : [];
    // The new render's block at the playhead (once it can come) comes first: it is what the listener waits for.
    if (this.target && target) order.push([this.target, target[0]]);
    for (const i of heard) order.push([this.heard!, i]);
    if (this.target && target) for (const i of target.slice(1)) order.push([this.target, i]);
    // Of the new render's block at the playhead, only what is still to be heard: rendered on demand, it arrives
    // sooner the less there is. Not for the stretchers, which are given whole blocks from their start.
    const playhead =
      this.target && this.cursor ? this.frameOf(this.positionAt(this.context.currentTime + START_LATENCY_S)) : null;
    for (const [stream, index] of order) {
      if (this.inFlight.size >= IN_FLIGHT) break;
      const key = `${stream.view.revision}:${index}`;
      if (index === undefined || this.inFlight.has(key)) continue;
      const start = index * this.blockFrames;
      const until = Math.min(start + this.blockFrames, askable(stream.view));
      const from =
        stream === this.target && index === target?.[0] && playhead !== null && playhead > start && playhead < until
          ? playhead
          : start;
      const held = stream.blocks.get(index);
      if (
        until <= from ||
        (held && held.from <= from && held.from + held.frames >= until) ||
        stream.askedAt >= stream.view.readyFrames
      )
        continue;
      this.read(source, stream, index, from, until - from, key, stream === this.target && index === target?.[0]);
    }
  }

  /**
   * The blocks of the render being switched to, nearest first, but for the block the playhead will be in by the time
   * one asked for now is expected to come (its render on demand takes a while): that one first. Asking for the block
   * at the playhead instead, when little of it is left, would switch only once the block after it had come too.
   */
  private targetOrder(stream: Stream): number[] {
    const order = this.wanted(stream);
    if (!this.playing || !this.cursor) return order;
    const then = this.frameOf(this.positionAt(this.context.currentTime + START_LATENCY_S + this.expectedWait));
    const k = order.indexOf(Math.floor(then / this.blockFrames));
    return k > 0 ? [order[k], ...order.slice(0, k), ...order.slice(k + 1)] : order;
  }

  /**
   * The render being switched to holds a block the playhead has not reached yet (it came sooner than expected): the
   * switch is timed for the moment the playhead gets there, rather than for the next pump.
   */
  private switchWhenReached(target: Stream): void {
    // Timed again on every pump: a block nearer the playhead may have come since.
    this.stopSwitchTimer();
    if (!this.cursor) return;
    const now = this.context.currentTime;
    const start = Math.max(now, this.startedAt);
    const pos = this.frameOf(this.positionAt(start));
    let soonest = Infinity;
    for (const b of target.blocks.values()) {
      if (b.from <= pos) continue;
      const when = start + (b.from - pos) / this.sampleRate / this.rate;
      // Straight on to it: no loop wraps first, and what is scheduled of the render heard reaches it.
      if (this.frameOf(this.positionAt(when)) === b.from) soonest = Math.min(soonest, when);
    }
    if (!Number.isFinite(soonest)) return;
    // Within a timer's precision of the usual lead: switched now, at that very moment.
    if (soonest - now - START_LATENCY_S < SWITCH_SLACK_S) return this.takeTarget(soonest);
    this.switchTimer = setTimeout(
      () => {
        this.switchTimer = null;
        this.pump();
      },
      Math.round((soonest - now - START_LATENCY_S) * 1000),
    );
  }

  private stopSwitchTimer(): void {
    if (this.switchTimer) clearTimeout(this.switchTimer);
    this.switchTimer = null;
  }

  /** `waited`: the block the listener waits for (the target render's first); how long it takes is kept. */
  private read(
    source: BlockSource,
    stream: Stream,
    index: number,
    from: number,
    frames: number,
    key: string,
    waited: boolean,
  ): void {
    const abort = new AbortController();
    const asked = this.context.currentTime;
    const done = source
      .read(stream.view.revision, from, frames, abort.signal)
      .then(
        (block) => {
          if (abort.signal.aborted || (stream !== this.heard && stream !== this.target)) return;
          if (stream === this.target)
            mark('player:target-block', {
              revision: stream.view.revision,
              index,
              answer: 'notReady' in block || block.frames <= 0 ? 'not-ready' : 'audio',
            });
          if ('notReady' in block || block.frames <= 0) {
            const reason = 'notReady' in block ? block.notReady : `nothing to play from frame ${from}`;
            if (this.refused(stream) === REPORT_AFTER) this.onError(new Error(reason));
            return;
          }
          stream.failures = 0;
          if (waited) this.expectedWait = (this.expectedWait + (this.context.currentTime - asked)) / 2;
          stream.blocks.set(index, this.hold(block, stream.view));
          if (stream === this.heard) this.opening?.resolve();
          if (stream === this.heard) this.opening = null;
        },
        (e) => {
          if (abort.signal.aborted) return;
          if (stream === this.target)
            mark('player:target-block', { revision: stream.view.revision, index, answer: 'failed' });
          const failures = this.refused(stream);
          if (this.opening && stream === this.heard) this.opening.reject(e);
          else if (failures === 1 || failures === REPORT_AFTER) this.onError(e);
          if (stream === this.heard) this.opening = null;
        },
      )
      .finally(() => {
        if (this.inFlight.get(key)?.abort === abort) this.inFlight.delete(key);
        if (!abort.signal.aborted) this.pump();
      });
    this.inFlight.set(key, { stream, index, abort, done });
  }

  /**
   * A read was refused or had nothing yet: the stream is not asked again until more of it is final, the playhead
   * moves, or, while someone waits for its audio, a retry later and later (a finished render's copy may be written
   * again meanwhile, and nothing else would ask again then). Returns the refusals in a row.
   */
  private refused(stream: Stream): number {
    stream.askedAt = stream.view.readyFrames;
    stream.failures++;
    const waited = this.playing || this.waiting || (this.opening !== null && stream === this.heard);
    if (waited && !stream.retry) {
      const delay = Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (stream.failures - 1));
      stream.retry = setTimeout(() => {
        stream.retry = null;
        if (stream !== this.heard && stream !== this.target) return;
        stream.askedAt = -1;
        this.pump();
      }, delay);
    }
    return stream.failures;
  }

  private dropStream(stream: Stream | null): void {
    if (stream?.retry) clearTimeout(stream.retry);
    if (stream) stream.retry = null;
  }

  /** A block read as buffers of the context (the source serves only final frames, or frames rendered for it). */
  private hold(block: Block, view: StreamView): HeldBlock {
    const frames = Math.max(0, Math.min(block.frames, view.frames - block.from));
    const stems = new Map<string, AudioBuffer>();
    for (const [name, channels] of block.stems) {
      const buffer = this.context.createBuffer(channels.length, frames, view.sampleRate);
      channels.forEach((c, i) => buffer.copyToChannel(c.subarray(0, frames), i));
      stems.set(name, buffer);
    }
    return { from: block.from, frames, stems };
  }

  /** Lets go of the blocks no longer wanted, and stops reading those. */
  private evict(): void {
    for (const stream of [this.heard, this.target]) {
      if (!stream) continue;
      const keep = new Set(this.wanted(stream));
      for (const i of [...stream.blocks.keys()]) if (!keep.has(i)) stream.blocks.delete(i);
      for (const [key, f] of this.inFlight) {
        if (f.stream === stream && !keep.has(f.index)) {
          f.abort.abort();
          this.inFlight.delete(key);
        }
      }
    }
    for (const [key, f] of this.inFlight) {
      if (f.stream !== this.heard && f.stream !== this.target) {
        f.abort.abort();
        this.inFlight.delete(key);
      }
    }
  }

  /**
   * Makes the target render the one heard, from context time `when` (null: paused, at once) if its block at the
   * playhead then is held: the stems it shares crossfade, one it adds fades in, one it lacks fades out and goes.
   */
  private takeTarget(when: number | null): void {
    const target = this.target!;
    const at = when === null ? this.offset : this.positionAt(when);
    if (when !== null && !this.heldAt(target, this.frameOf(at))) return;
    this.stopSwitchTimer();
    this.target = null;
    this.heard = target;
    const plan = when === null ? null : planCrossfade(when);
    for (const [name, strip] of [...this.strips]) {
      if (target.view.sources.includes(name)) continue;
      this.strips.delete(name);
      const release = () => {
        strip.gain.disconnect();
        strip.analyser.disconnect();
        strip.stretch?.disconnect();
      };
      if (strip.voice && plan && when !== null)
        this.fadeOut(strip.voice, fadeOutFrom(strip.voice, when), plan.stopOld, release);
      else release();
    }
    const strips = new Map<string, Strip>();
    for (const name of target.view.sources) strips.set(name, this.strips.get(name) ?? this.addStrip(name));
    // Keep the render's order (the model's source order) for whoever lists the stems.
    this.strips = strips;
    if (plan && when !== null) {
      const old = new Map([...strips].map(([name, s]) => [name, s.voice]));
      this.offset = at;
      this.startedAt = when;
      this.startVoices(when, at, (name) => (old.get(name) ? plan.fadeIn : planFadeIn(when)));
      for (const v of old.values()) if (v && v.kind === 'buffer') this.fadeOut(v, fadeOutFrom(v, when), plan.stopOld);
      this.scheduleEnd();
      mark('player:switched', {
        revision: target.view.revision,
        leadSeconds: when - this.context.currentTime,
        // What the context adds before a scheduled sample reaches the speakers.
        outputSeconds: (this.context.baseLatency ?? 0) + (this.context.outputLatency ?? 0),
      });
      this.onSwitch(target.view.revision, when);
    } else {
      this.onSwitch(target.view.revision, this.context.currentTime);
    }
    if (!isBypassed(this.timePitch)) void this.prepareStretchers().then(() => this.startMissing());
  }

  /**
   * Starts every strip at context time `when` from song position `at`: buffer sources scheduled block by block at
   * the song's own tempo and key, else the stretchers (a stretcher keeps playing in place: it is given the samples
   * from there). `fadeIn` gives each strip's fade (null: none).
   */
  private startVoices(when: number, at: number, fadeIn: (name: string) => GainPoint[] | null): void {
    const stretched = !isBypassed(this.timePitch);
    const seat: Record<string, true> = {};
    for (const [name, strip] of this.strips) {
      const old = strip.voice;
      if (stretched && old?.kind === 'stretch') continue;
      if (stretched && !strip.stretch) {
        strip.voice = null;
        continue;
      }
      const fade = this.context.createGain();
      const points = fadeIn(name);
      if (points) schedule(fade.gain, points);
      fade.connect(strip.gain);
      if (stretched && strip.stretch) {
        strip.stretch.connect(fade);
        strip.voice = { kind: 'stretch', node: strip.stretch, fade, fadeIn: points };
        seat[name] = true;
      } else {
        strip.voice = { kind: 'buffer', nodes: [], fade, fadeIn: points };
      }
    }
    if (stretched) {
      this.cursor = null;
      this.seatStretchers(when, at, { active: true, rate: this.timePitch.tempo, semitones: this.timePitch.semitones });
    } else {
      this.cursor = { frame: this.frameOf(at), time: when };
      this.scheduleBlocks();
    }
  }

  /**
   * Schedules the held blocks on buffer sources from the cursor on, back to back, wrapping at the loop. Where the
   * next block is not held yet nothing more is scheduled; once it is, playback goes on from there.
   */
  private scheduleBlocks(): void {
    const c = this.cursor!;
    const heard = this.heard!;
    const sr = heard.view.sampleRate;
    const total = heard.view.frames;
    const loop = loopApplies(this.loop, this.offset) ? this.loopFrames() : null;
    const now = this.context.currentTime;
    while (c.frame < total && c.time < Math.max(now, this.startedAt) + SCHEDULE_AHEAD_S) {
      const block = this.heldAt(heard, c.frame);
      if (!block) break;
      if (c.time < now + RAMP_S) {
        // The schedule ran dry (waiting for this block): the clock starts again from here.
        c.time = now + START_LATENCY_S;
        this.offset = c.frame / sr;
        this.startedAt = c.time;
        this.scheduleEnd();
      }
      let stop = Math.min(block.from + block.frames, total);
      if (loop && c.frame < loop.end) stop = Math.min(stop, loop.end);
      for (const [name, strip] of this.strips) {
        const buffer = block.stems.get(name);
        const voice = strip.voice;
        if (!buffer || voice?.kind !== 'buffer') continue;
        const node = this.context.createBufferSource();
        node.buffer = buffer;
        node.connect(voice.fade);
        node.start(c.time, (c.frame - block.from) / sr, (stop - c.frame) / sr);
        node.onended = () => {
          node.disconnect();
          const k = voice.nodes.indexOf(node);
          if (k >= 0) voice.nodes.splice(k, 1);
        };
        voice.nodes.push(node);
      }
      c.time += (stop - c.frame) / sr;
      c.frame = loop && stop === loop.end ? loop.start : stop;
    }
  }

  /**
   * Gives every stretcher the samples from `at` (the block it starts in, or the loop's start when that is earlier)
   * and moves it there at context time `when`.
   */
  private seatStretchers(
    when: number,
    at: number,
    change: { active?: boolean; rate?: number; semitones?: number },
  ): void {
    this.giveStretchers(this.stretchBaseFor(this.frameOf(at), at));
    const input = at - this.stretchBase / this.sampleRate;
    for (const s of this.strips.values()) {
      if (s.voice?.kind !== 'stretch') continue;
      s.voice.node.schedule({ ...change, output: when, input, ...this.stretchLoopAt(at) });
    }
  }

  /** Where the stretchers' samples start for a run at song frame `frame`: its block, or the loop's when earlier. */
  private stretchBaseFor(frame: number, from: number): number {
    const loop = this.loopFrames();
    let base = Math.floor(Math.max(0, frame) / this.blockFrames) * this.blockFrames;
    if (loop && loopApplies(this.loop, from) && frame >= loop.start)
      base = Math.min(base, Math.floor(loop.start / this.blockFrames) * this.blockFrames);
    return base;
  }

  /**
   * Replaces what every stretcher holds by one buffer per stem: the held blocks from `base` on, as far as they run
   * on unbroken (ahead of the playhead, or to the loop's end). One buffer, not one per block: the stretcher reads a
   * stretch of input across two of its buffers wrongly (signalsmith-stretch 1.x), so it is given them joined.
   */
  private giveStretchers(base: number): void {
    const heard = this.heard!;
    const sr = heard.view.sampleRate;
    const pos = this.frameOf(this.playing ? this.positionAt(this.context.currentTime) : this.offset);
    const loop = this.loopFrames();
    const looping = loop && loopApplies(this.loop, this.offset);
    const until = Math.min(
      heard.view.frames,
      looping ? loop.end : Math.max(pos, base) + Math.round(AHEAD_SECONDS * sr * Math.max(1, this.rate)),
    );
    let end = base;
    const blocks: HeldBlock[] = [];
    for (let block = this.heldAt(heard, end); block && end < until; block = this.heldAt(heard, end)) {
      blocks.push(block);
      end = block.from + block.frames;
    }
    this.stretchBase = base;
    this.stretchEnd = end;
    for (const [name, strip] of this.strips) {
      if (!strip.stretch) continue;
      const channels = Array.from({ length: STEREO }, () => new Float32Array(end - base));
      for (const block of blocks) {
        const buffer = block.stems.get(name);
        if (!buffer) continue;
        const skip = Math.max(0, base - block.from);
        channels.forEach((ch, c) =>
          ch.set(
            buffer.getChannelData(Math.min(c, buffer.numberOfChannels - 1)).subarray(skip),
            block.from + skip - base,
          ),
        );
      }
      // Dropped and given in one go: both messages reach the audio thread together.
      strip.stretch.dropBuffers();
      if (end > base)
        strip.stretch.addBuffers(
          channels,
          channels.map((ch) => ch.buffer),
        );
    }
  }

  /** The loop as the stretchers' input times (their time 0 is stretchBase). */
  private stretchLoopAt(from: number): { loopStart: number; loopEnd: number } {
    const l = stretchLoop(this.loop, from);
    const shift = this.stretchBase / this.sampleRate;
    return l.loopStart === l.loopEnd ? l : { loopStart: l.loopStart - shift, loopEnd: l.loopEnd - shift };
  }

  /**
   * Keeps the stretchers' samples ahead of the playhead: once they reach less than half the window ahead and more
   * blocks are held, they are given again from the same start (their input times stay). Once that start is far
   * behind the playhead it moves up, and the stretchers are told the same song position in their new input times.
   * Where nothing more is held and they are about to run out, playback waits.
   */
  private feedStretchers(): void {
    const heard = this.heard!;
    const sr = heard.view.sampleRate;
    const total = heard.view.frames;
    const now = this.context.currentTime;
    // Not while a start is still on its way: the stretchers play the seat they were given.
    if (!this.playing || this.startedAt > now) return;
    const pos = this.frameOf(this.positionAt(now));
    const loop = this.loopFrames();
    const looping = loop && loopApplies(this.loop, this.offset);
    const ahead = Math.round((AHEAD_SECONDS / 2) * sr * Math.max(1, this.rate));
    const more = this.heldAt(heard, this.stretchEnd) !== null;
    const base = looping ? this.stretchBase : this.stretchBaseFor(pos - Math.round(BEHIND_SECONDS * sr), this.offset);
    const behind = pos - this.stretchBase > Math.round(REBASE_SECONDS * sr);
    if ((more && this.stretchEnd - pos < ahead) || (behind && base > this.stretchBase && this.heldAt(heard, base))) {
      const moved = behind && base > this.stretchBase && this.heldAt(heard, base) !== null;
      this.giveStretchers(moved ? base : this.stretchBase);
      if (moved) {
        const input = this.positionAt(now) - this.stretchBase / sr;
        for (const s of this.strips.values())
          if (s.voice?.kind === 'stretch')
            s.voice.node.schedule({ output: now, input, ...this.stretchLoopAt(this.offset) });
      }
    }
    if (!looping && this.stretchEnd < total && this.positionAt(now + (2 * PUMP_MS) / 1000) * sr >= this.stretchEnd) {
      this.pause();
      this.offset = Math.min(this.offset, this.stretchEnd / sr);
      this.waiting = true;
    }
  }

  private rmsDb(a: AnalyserNode): number {
    if (!this.playing) return -Infinity;
    a.getFloatTimeDomainData(this.scratch);
    let sum = 0;
    for (let i = 0; i < this.scratch.length; i++) sum += this.scratch[i] * this.scratch[i];
    const rms = Math.sqrt(sum / this.scratch.length);
    return rms > 0 ? 20 * Math.log10(rms) : -Infinity;
  }

  private addStrip(name: string): Strip {
    const gain = this.context.createGain();
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 2048;
    gain.connect(analyser);
    gain.connect(this.master);
    // A stem the mixer has not set yet (a new render's residual) is silent until it has, so mute and solo hold.
    if (this.mixerGains) gain.gain.value = this.mixerGains[name] ?? 0;
    const strip: Strip = { gain, analyser, voice: null, stretch: null, making: null };
    this.strips.set(name, strip);
    return strip;
  }

  private fadeOut(voice: Voice, points: GainPoint[], stopAt: number, then?: () => void): void {
    schedule(voice.fade.gain, points);
    if (voice.kind === 'buffer') stopNodes(voice.nodes, stopAt);
    // A stretcher is kept for the next start; only this voice's connection to it goes.
    else voice.node.schedule({ active: false, output: stopAt });
    setTimeout(
      () => {
        if (voice.kind === 'stretch') disconnectFrom(voice.node, voice.fade);
        voice.fade.disconnect();
        then?.();
      },
      Math.max(0, stopAt - this.context.currentTime) * 1000 + 20,
    );
  }

  /** Song position at context time t while playing; buffer sources never get past what is scheduled. */
  private positionAt(t: number): number {
    if (!this.playing) return this.offset;
    const until = this.cursor ? Math.min(t, this.cursor.time) : t;
    const raw = this.offset + Math.max(0, until - this.startedAt) * this.rate;
    return Math.min(this.duration, wrappedPosition(this.loop, this.offset, raw));
  }

  /** Makes the stretchers the strips lack; they wait, stopped and empty, until seated. */
  private async prepareStretchers(): Promise<void> {
    const create = this.createStretch;
    if (!create) throw new Error('This player cannot change tempo or key (no time stretcher).');
    await Promise.all(
      [...this.strips.values()].map((strip) => {
        if (strip.stretch) return undefined;
        strip.making ??= create(this.context, STEREO).then((node) => {
          strip.making = null;
          if (![...this.strips.values()].includes(strip)) return node.disconnect();
          strip.stretch = node;
        });
        return strip.making;
      }),
    );
  }

  /** When a change of what plays can take over: `lead` from now, never before the song itself starts. */
  private swapTime(lead: number): number {
    const soonest = this.context.currentTime + lead;
    return this.playing ? Math.max(soonest, this.startedAt) : soonest;
  }

  /** Starts, fading in, the strips a switch added while stretched whose stretchers are made now. */
  private startMissing(): void {
    if (!this.playing || isBypassed(this.timePitch)) return;
    const missing = [...this.strips.values()].filter((s) => !s.voice);
    if (missing.length === 0) return;
    const when = this.swapTime(START_LATENCY_S);
    const at = this.positionAt(when);
    for (const strip of missing) {
      const fade = this.context.createGain();
      const points = planFadeIn(when);
      schedule(fade.gain, points);
      fade.connect(strip.gain);
      strip.stretch!.connect(fade);
      strip.voice = { kind: 'stretch', node: strip.stretch!, fade, fadeIn: points };
    }
    this.seatStretchers(when, at, { active: true, rate: this.timePitch.tempo, semitones: this.timePitch.semitones });
  }

  private stretchLatency(): number {
    let latency = 0;
    for (const s of this.strips.values()) latency = Math.max(latency, s.stretch?.latencySeconds ?? 0);
    return latency;
  }

  private stopPumping(): void {
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpTimer = null;
    this.stopSwitchTimer();
  }

  private stopSources(): void {
    if (this.endTimer) clearTimeout(this.endTimer);
    this.endTimer = null;
    this.cancelClicks?.();
    this.cancelClicks = null;
    this.cursor = null;
    for (const s of this.strips.values()) {
      if (!s.voice) continue;
      const voice = s.voice;
      if (voice.kind === 'buffer') {
        stopNodes(voice.nodes);
        for (const n of voice.nodes) n.disconnect();
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
    const remaining =
      (this.duration - this.offset) / this.rate + Math.max(0, this.startedAt - this.context.currentTime);
    this.endTimer = setTimeout(
      () => {
        if (!this.playing) return;
        // Waiting for blocks on the way: the end is further off than it was.
        if (this.positionAt(this.context.currentTime) < this.duration - 1 / this.sampleRate) return this.scheduleEnd();
        this.stopSources();
        this.stopPumping();
        this.playing = false;
        this.offset = this.duration;
        this.onEnded();
      },
      remaining * 1000 + 20,
    );
  }
}

/**
 * Frames from 0 the player may ask for: a re-render's are rendered on demand from the estimate cache where not
 * written yet, and a finished render's copy is written again when asked for after the app dropped it (the app
 * answers "not ready" meanwhile), so only a first separation still running is limited to its final frames.
 */
function askable(view: StreamView): number {
  return view.revision > 0 || view.complete ? view.frames : Math.min(view.frames, view.readyFrames);
}

/**
 * A moment of a switch on the page's performance timeline, for whoever profiles the wait for a change to be heard
 * (bench/ui-rerender.bench.ts reads them); only switches, so the timeline stays short.
 */
function mark(name: string, detail: Record<string, number | string>): void {
  globalThis.performance?.mark?.(name, { detail });
}

/** Stops buffer sources at `when` (now without it); one that never started does not start. */
function stopNodes(nodes: readonly AudioBufferSourceNode[], when?: number): void {
  for (const n of nodes) {
    try {
      n.stop(when);
    } catch {
      // A source that already finished cannot be stopped again; nothing to undo.
    }
  }
}

/** A voice's fade-out at `when`, from the gain its own fade-in has reached then. */
function fadeOutFrom(voice: Voice, when: number): GainPoint[] {
  return planCrossfade(when, CROSSFADE_S, voice.fadeIn ? gainAt(voice.fadeIn, when) : 1).fadeOut;
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
