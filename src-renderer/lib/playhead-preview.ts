// A control change heard at the playhead at once: while the whole song re-renders, the few seconds around the playhead
// are rendered with the new controls from the estimate cache (previewRegion), spliced into the heard stems
// (region-splice.ts) and swapped in at the playhead like any re-render. Then it keeps the next seconds ready: when the
// playhead nears the end of what is rendered, the next part follows, and after a seek a part starts at the new place.
// Whole-song buffers are recycled: a browser fills fresh memory many times slower than memory it has used before
// (about 0.9 s against 0.03 s for the four stems of a 3-minute song), so splices write into buffers no longer heard.
import type { SongControls } from '../../src-main/api/contract.ts';
import type { StudioClient } from './client.ts';
import type { StemPlayer } from './player.ts';
import { alignedStartFrame, placeRegion, spliceRegion, type BufferMaker } from './region-splice.ts';
import { readFloatWav } from './float-wav.ts';

/** Seconds rendered per part: enough to play while the next is made, few enough to be made at once. */
export const PART_SECONDS = 10;
/** The first part of a change is shorter: it is what the listener waits for. */
export const FIRST_PART_SECONDS = 3;
/** A part starts this far before the playhead, so the join the listener meets first is already behind them. */
export const LEAD_SECONDS = 0.3;
/** The next part is asked for when the playhead is this close to the end of the rendered seconds. */
export const AHEAD_SECONDS = 4;
const WATCH_MS = 200;
/** A buffer swapped out is reused only once its fade-out is long over. */
const RECYCLE_AFTER_MS = 1000;
/** Samples touched per step while warming a spare buffer, so the page stays responsive. */
const WARM_STEP = 1 << 19;

export class PlayheadPreview {
  /** Grows with every change and stop, so the work of an older one never swaps anything in. */
  private generation = 0;
  /** The song seconds heard with the new controls around the playhead. */
  private covered: { from: number; to: number } | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private busy = false;
  /** Whole-song buffers heard by nobody, ready to be written over. */
  private spare: AudioBuffer[] = [];
  private warming = false;

  constructor(
    private readonly client: Pick<StudioClient, 'previewRegion' | 'previewUrl'>,
    private readonly player: StemPlayer,
    private readonly jobId: string,
    /** The song's own rate, which the engine renders at. */
    private readonly songRate: number,
  ) {}

  /**
   * Hears `controls` at the playhead. Resolves with the buffers it replaced (what was heard before the change), or
   * null when a newer change or stop() came first; rejects when the part cannot be rendered (NOT_CACHED, …).
   */
  async start(controls: SongControls): Promise<Map<string, AudioBuffer> | null> {
    this.stop();
    const generation = this.generation;
    const replaced = await this.renderFrom(generation, controls, this.player.position - LEAD_SECONDS, FIRST_PART_SECONDS);
    if (replaced && generation === this.generation) this.timer = setInterval(() => void this.keepAhead(generation, controls), WATCH_MS);
    return replaced;
  }

  /** Stops keeping parts ready (the whole song has arrived, or a newer change starts over). */
  stop(): void {
    this.generation++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.covered = null;
    this.busy = false;
  }

  /** Buffers swapped out for good (spliced seconds a later swap replaced): reused by later splices. */
  recycle(buffers: Iterable<AudioBuffer>): void {
    const list = [...buffers];
    // One set of spares is all a splice needs; more would only hold memory (a set is ~250 MB for 3 minutes).
    setTimeout(() => {
      const room = Math.max(0, this.player.buffers.size - this.spare.length);
      this.spare.push(...list.slice(0, room));
    }, RECYCLE_AFTER_MS);
  }

  /**
   * Makes one set of spare buffers the size of the heard stems in the background, a slice at a time, so the first
   * change does not wait for fresh memory. Called when the controls are opened.
   */
  async warm(): Promise<void> {
    if (this.warming || this.spare.length > 0) return;
    this.warming = true;
    const step = () => new Promise((r) => setTimeout(r, 0));
    try {
      for (const b of this.player.buffers.values()) {
        const buffer = this.player.context.createBuffer(b.numberOfChannels, b.length, b.sampleRate);
        for (let c = 0; c < buffer.numberOfChannels; c++) {
          const data = buffer.getChannelData(c);
          for (let i = 0; i < data.length; i += WARM_STEP) {
            data.fill(0, i, i + WARM_STEP);
            await step();
          }
        }
        this.spare.push(buffer);
      }
    } finally {
      this.warming = false;
    }
  }

  private async keepAhead(generation: number, controls: SongControls): Promise<void> {
    if (this.busy || generation !== this.generation || !this.covered) return;
    const at = this.player.position;
    const { from, to } = this.covered;
    const seeked = at < from || at > to;
    const near = to < this.player.duration - 0.01 && at > to - AHEAD_SECONDS;
    if (!seeked && !near) return;
    this.busy = true;
    try {
      // What this swap replaces is spliced seconds of this change, heard by nobody from now on.
      const replaced = await this.renderFrom(generation, controls, seeked ? at - LEAD_SECONDS : to - LEAD_SECONDS, PART_SECONDS);
      if (replaced) this.recycle(replaced.values());
    } catch {
      // The first part was heard; the rest of the song comes with the full re-render.
      if (generation === this.generation) this.stop();
    } finally {
      if (generation === this.generation) this.busy = false;
    }
  }

  /** Renders a part from `seconds` (snapped to a frame both rates share), splices it in and swaps it in. */
  private async renderFrom(generation: number, controls: SongControls, seconds: number, length: number): Promise<Map<string, AudioBuffer> | null> {
    const { player, client, jobId } = this;
    const ctxRate = player.context.sampleRate;
    const frame = alignedStartFrame(Math.max(0, seconds), this.songRate, ctxRate);
    const preview = await client.previewRegion(jobId, controls, frame / this.songRate, length);
    if (generation !== this.generation) return null;
    const parts = preview.sampleRate === ctxRate
      ? await this.readParts(preview.sources, client.previewUrl(jobId, preview.id))
      : await player.fetchBuffers(preview.sources.map((s) => ({ name: s, url: client.previewUrl(jobId, preview.id, s) })));
    if (generation !== this.generation) return null;
    const heard = player.buffers;
    const songLength = Math.max(0, ...[...heard.values()].map((b) => b.length));
    const place = placeRegion(preview, ctxRate, songLength);
    const replaced = player.swapBuffers(spliceRegion(this.maker(), heard, parts, place));
    const from = place.from / ctxRate, to = place.to / ctxRate;
    // A part that carries on from the one before extends it; one after a seek starts afresh.
    this.covered = this.covered && from >= this.covered.from && from <= this.covered.to ? { from: this.covered.from, to } : { from, to };
    return replaced;
  }

  /**
   * The part's stems at the context's own rate: all of them in one request (one WAV, two channels per stem in the
   * preview's order), read without the browser's decoder (float-wav.ts).
   */
  private async readParts(sources: string[], url: string): Promise<Map<string, AudioBuffer>> {
    const context = this.player.context;
    const res = await fetch(url, { cache: 'no-store' });
    if (!res.ok) throw new Error(`could not load the previewed part (${res.status})`);
    const wav = readFloatWav(await res.arrayBuffer());
    if (!wav || wav.sampleRate !== context.sampleRate || wav.channels.length !== 2 * sources.length) {
      throw new Error('the previewed part is not the float WAV it should be');
    }
    return new Map(sources.map((name, i) => {
      const buffer = context.createBuffer(2, Math.max(1, wav.channels[0].length), wav.sampleRate);
      buffer.copyToChannel(wav.channels[2 * i], 0);
      buffer.copyToChannel(wav.channels[2 * i + 1], 1);
      return [name, buffer] as const;
    }));
  }

  /** Makes buffers from the spares where one fits, else fresh. */
  private maker(): BufferMaker {
    const context = this.player.context;
    return {
      sampleRate: context.sampleRate,
      createBuffer: (channels, length, sampleRate) => {
        const k = this.spare.findIndex((b) => b.numberOfChannels === channels && b.length === length && b.sampleRate === sampleRate);
        return k >= 0 ? this.spare.splice(k, 1)[0] : context.createBuffer(channels, length, sampleRate);
      },
    };
  }
}
