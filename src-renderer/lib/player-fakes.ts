// Stand-ins for the player's tests: an AudioContext that records the graph and what is scheduled on it, a
// stretcher that records what it is given, and in-memory renders to stream. Every sample of a render says where it
// is from (sampleCode), so a test can tell which render, stem and song frame a scheduled source plays.
import type { Block, BlockSource, NotReady, StreamView } from './block-source.ts';
import type { GainPoint } from './crossfade.ts';
import type { StretchNode } from './player.ts';

/** The tests' song rate: small, so seconds are a whole number of frames and blocks are short arrays. */
export const RATE = 100;

/** The value of a render's sample: revision, stem index and song frame in one exactly representable number. */
export function sampleCode(revision: number, stem: number, frame: number): number {
  return revision * 1e6 + stem * 1e5 + frame;
}

export function decode(value: number): { revision: number; stem: number; frame: number } {
  return { revision: Math.floor(value / 1e6), stem: Math.floor((value % 1e6) / 1e5), frame: value % 1e5 };
}

type Event = { kind: 'set' | 'ramp'; value: number; time: number };

export class FakeParam {
  value = 1;
  events: Event[] = [];
  setValueAtTime(value: number, time: number) {
    this.events.push({ kind: 'set', value, time });
  }
  linearRampToValueAtTime(value: number, time: number) {
    this.events.push({ kind: 'ramp', value, time });
  }
  cancelScheduledValues(time: number) {
    this.events = this.events.filter((e) => e.time < time);
  }
  setTargetAtTime() {}
  /** The schedule as crossfade points; a param never automated holds its value. */
  points(): GainPoint[] {
    return this.events.length
      ? this.events.map((e) => ({ time: e.time, value: e.value }))
      : [{ time: 0, value: this.value }];
  }
}

export class FakeNode {
  outputs: FakeNode[] = [];
  connect<T extends FakeNode>(n: T): T {
    this.outputs.push(n);
    return n;
  }
  disconnect() {
    this.outputs = [];
  }
}

export class FakeGain extends FakeNode {
  gain = new FakeParam();
}
export class FakeAnalyser extends FakeNode {
  fftSize = 0;
  getFloatTimeDomainData() {}
}

export class FakeBuffer {
  readonly duration: number;
  readonly channels: Float32Array[];
  constructor(
    readonly numberOfChannels: number,
    readonly length: number,
    readonly sampleRate: number,
  ) {
    this.duration = length / sampleRate;
    this.channels = Array.from({ length: numberOfChannels }, () => new Float32Array(length));
  }
  getChannelData(c: number) {
    return this.channels[c];
  }
  copyToChannel(data: Float32Array, c: number) {
    this.channels[c].set(data);
  }
}

export class FakeSource extends FakeNode {
  buffer: FakeBuffer | null = null;
  startedAt: number | null = null;
  /** Seconds into its buffer, and how many it plays. */
  offset: number | null = null;
  duration: number | null = null;
  stoppedAt: number | null = null;
  onended: (() => void) | null = null;
  start(when: number, offset: number, duration?: number) {
    this.startedAt = when;
    this.offset = offset;
    this.duration = duration ?? null;
  }
  stop(when = 0) {
    this.stoppedAt = when;
  }
  /** What it plays: the render, stem and song frames [from, to). */
  get plays(): { revision: number; stem: number; from: number; to: number } {
    const first = Math.round(this.offset! * this.buffer!.sampleRate);
    const n = Math.round((this.duration ?? this.buffer!.duration - this.offset!) * this.buffer!.sampleRate);
    const { revision, stem, frame } = decode(this.buffer!.channels[0][first]);
    return { revision, stem, from: frame, to: frame + n };
  }
  /** Context time its last sample ends. */
  get endsAt(): number {
    return this.startedAt! + (this.duration ?? this.buffer!.duration - this.offset!);
  }
}

export class FakeOscillator extends FakeNode {
  frequency = new FakeParam();
  startedAt: number | null = null;
  stoppedAt: number | null = null;
  start(when: number) {
    this.startedAt = when;
  }
  stop(when = 0) {
    this.stoppedAt = when;
  }
}

export class FakeContext {
  currentTime = 0;
  state = 'running';
  readonly sampleRate = RATE;
  destination = new FakeNode();
  sources: FakeSource[] = [];
  oscillators: FakeOscillator[] = [];
  createOscillator() {
    const o = new FakeOscillator();
    this.oscillators.push(o);
    return o;
  }
  createGain() {
    return new FakeGain();
  }
  createAnalyser() {
    return new FakeAnalyser();
  }
  createBufferSource() {
    const s = new FakeSource();
    this.sources.push(s);
    return s;
  }
  createBuffer(channels: number, length: number, rate: number) {
    return new FakeBuffer(channels, length, rate);
  }
  async resume() {}
  async close() {}
}

type Scheduled = {
  output?: number;
  active?: boolean;
  input?: number;
  rate?: number;
  semitones?: number;
  loopStart?: number;
  loopEnd?: number;
};

/** A stretcher that records its schedule and the samples it holds (as sampleCodes: first frame and length). */
export class FakeStretch extends FakeNode {
  readonly latencySeconds = 0.2;
  changes: Scheduled[] = [];
  /** Its input: the song frame of each appended part and its length. */
  held: { frame: number; revision: number; frames: number }[] = [];
  dropped: (number | undefined)[] = [];
  schedule(change: Scheduled) {
    this.changes.push(change);
  }
  dropBuffers(toSeconds?: number) {
    this.dropped.push(toSeconds);
    if (toSeconds === undefined) this.held = [];
  }
  addBuffers(channels: Float32Array[]) {
    const { frame, revision } = decode(channels[0][0]);
    this.held.push({ frame, revision, frames: channels[0].length });
  }
  override disconnect(destination?: FakeNode) {
    this.outputs = destination ? this.outputs.filter((o) => o !== destination) : [];
  }
  get last(): Scheduled {
    return this.changes[this.changes.length - 1];
  }
}

export function stretchFactory(made: FakeStretch[]) {
  return async () => {
    const s = new FakeStretch();
    made.push(s);
    return s as unknown as StretchNode;
  };
}

/**
 * Renders held as sample codes, read as blocks. `gate`: reads wait until released (to see what is asked first);
 * `ready`: per revision, the frames final so far (reads past them get fewer, or NotReady).
 */
export class MemorySource implements BlockSource {
  asked: { revision: number; from: number; frames: number }[] = [];
  private pending: (() => void)[] = [];
  gate = false;
  readonly ready = new Map<number, number>();
  /** Revisions whose frames past the final ones are rendered when asked for (a re-render's, from the cache). */
  readonly onDemand = new Set<number>();
  constructor(
    readonly frames: number,
    readonly sources: string[],
  ) {}

  view(revision: number, sources = this.sources): StreamView {
    return {
      revision,
      sampleRate: RATE,
      frames: this.frames,
      readyFrames: this.ready.get(revision) ?? this.frames,
      sources,
    };
  }

  async read(revision: number, from: number, frames: number, signal?: AbortSignal): Promise<Block | NotReady> {
    this.asked.push({ revision, from, frames });
    if (this.gate) await new Promise<void>((r) => this.pending.push(r));
    if (signal?.aborted) throw new Error('aborted');
    const until = Math.min(
      from + frames,
      this.onDemand.has(revision) ? this.frames : (this.ready.get(revision) ?? this.frames),
      this.frames,
    );
    if (until <= from) return { notReady: `render ${revision}: not rendered yet` };
    const sources = this.sourcesOf.get(revision) ?? this.sources;
    const stems = new Map<string, Float32Array<ArrayBuffer>[]>(
      sources.map((name, k) => {
        const stem = this.sources.indexOf(name) >= 0 ? this.sources.indexOf(name) : k;
        const ch = Float32Array.from({ length: until - from }, (_, i) => sampleCode(revision, stem, from + i));
        return [name, [ch, ch.slice()]];
      }),
    );
    return { from, frames: until - from, stems };
  }

  /** Stems of a revision other than the song's (a render that adds the residual). */
  readonly sourcesOf = new Map<number, string[]>();

  release(): void {
    const p = this.pending;
    this.pending = [];
    for (const r of p) r();
  }
}

/** A long render made on demand: all samples zero, nothing held but the block asked for. */
export class LongSource implements BlockSource {
  read = async (_revision: number, from: number, frames: number): Promise<Block> => {
    const n = Math.max(0, Math.min(frames, this.frames - from));
    return {
      from,
      frames: n,
      stems: new Map(this.sources.map((s) => [s, [new Float32Array(n), new Float32Array(n)]])),
    };
  };
  constructor(
    readonly frames: number,
    readonly sources: string[],
  ) {}
}
