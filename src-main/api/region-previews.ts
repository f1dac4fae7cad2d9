// A part of a finished song rendered with new separation controls from the estimate cache (the engine's
// renderRegion), so the player can hear a change at the playhead long before the whole song is re-rendered. Nothing
// is written to disk: each stem is kept in memory as a 32-bit float WAV (the engine's samples, exactly) for the doors
// to serve, and only the last few previews are kept.
import { randomBytes } from 'node:crypto';
import { createSampleEncoder, XumxError } from '../engine/index.ts';
import type { SeparateRequest, SeparationControls } from '../engine/types.ts';
import type { JobView, RegionPreview, SongControls } from './contract.ts';
import type { EnginePort } from './ports.ts';

/** The longest part one call renders: the player asks for a few seconds ahead at a time. */
export const MAX_PREVIEW_SECONDS = 30;

export interface RegionPreviewDeps {
  engine: EnginePort;
  jobs: { get(id: string): JobView | undefined };
  /** The engine request a re-render with these controls sends (the same function), so both render the same audio. */
  requestFor(input: string, controls: SeparationControls): SeparateRequest;
  /** How many previews are kept (default 4), and how many bytes of WAV at most (default 64 MiB; the newest stays). */
  maxPreviews?: number;
  maxBytes?: number;
}

interface Kept {
  view: RegionPreview;
  /** Per stem, a whole WAV file. */
  files: Map<string, Buffer>;
  /** Every stem in one WAV, two channels each in the view's `sources` order: one request instead of one per stem. */
  all: Buffer;
  bytes: number;
}

export class RegionPreviews {
  /** Oldest first. */
  private kept: Kept[] = [];
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: RegionPreviewDeps) {}

  /** `start` and `seconds` in seconds of the song; a newer preview of the same song cancels this one (CANCELLED). */
  async render(jobId: string, sc: SongControls, start: number, seconds: number): Promise<RegionPreview> {
    const job = this.deps.jobs.get(jobId);
    if (!job) throw new XumxError('BAD_ARGUMENT', `no song with id ${jobId} in the queue`);
    if (job.state !== 'done' || !job.result) throw new XumxError('BAD_ARGUMENT', `${job.name} is not separated yet`);
    const { sampleRate, duration } = job.result;
    if (!Number.isFinite(start) || start < 0)
      throw new XumxError('BAD_ARGUMENT', `${job.name}: a preview must start at a time in the song (seconds from 0)`);
    if (start >= duration)
      throw new XumxError(
        'BAD_ARGUMENT',
        `${job.name}: a preview from ${start} s starts after the song's end (${duration} s)`,
      );
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_PREVIEW_SECONDS) {
      throw new XumxError(
        'BAD_ARGUMENT',
        `${job.name}: a preview lasts more than 0 and at most ${MAX_PREVIEW_SECONDS} seconds`,
      );
    }
    const { engine } = this.deps;
    if (!engine.renderRegion) throw new XumxError('NOT_CACHED', `${job.name}: this engine renders whole songs only`);

    this.running.get(jobId)?.abort();
    const abort = new AbortController();
    this.running.set(jobId, abort);
    const region = { start: Math.round(start * sampleRate), frames: Math.max(1, Math.round(seconds * sampleRate)) };
    let result;
    try {
      result = await engine.renderRegion(this.deps.requestFor(job.input, sc.controls), region, {
        signal: abort.signal,
      });
    } finally {
      if (this.running.get(jobId) === abort) this.running.delete(jobId);
    }
    if (abort.signal.aborted) throw new XumxError('CANCELLED', `${job.name}: preview replaced by a newer one`);
    if (!result.ok) throw new XumxError(result.error.code, result.error.message);

    const files = new Map<string, Buffer>();
    for (const [source, channels] of Object.entries(result.stems))
      files.set(source, await floatWav(channels, result.sampleRate));
    const all = await floatWav(Object.values(result.stems).flat(), result.sampleRate);
    // The song may have left the queue while its stems were encoded: nothing of it is kept then.
    if (!this.deps.jobs.get(jobId)) throw new XumxError('CANCELLED', `${job.name}: removed from the queue`);
    const view: RegionPreview = {
      id: randomBytes(12).toString('base64url'),
      jobId,
      sampleRate: result.sampleRate,
      startFrame: result.start,
      frames: result.frames,
      sources: [...files.keys()],
    };
    this.keep({ view, files, all, bytes: [...files.values()].reduce((n, b) => n + b.length, all.length) });
    return view;
  }

  /**
   * The WAV bytes of one stem of a kept preview, or (`source` null) of all its stems in one; null for anything not kept
   * (unknown, dropped, another song's).
   */
  file(jobId: string, id: string, source: string | null): Buffer | null {
    const kept = this.kept.find((k) => k.view.id === id && k.view.jobId === jobId);
    if (!kept) return null;
    return source === null ? kept.all : (kept.files.get(source) ?? null);
  }

  /** Forgets a song's previews and cancels its running one (the song left the queue). */
  drop(jobId: string): void {
    this.running.get(jobId)?.abort();
    this.running.delete(jobId);
    this.kept = this.kept.filter((k) => k.view.jobId !== jobId);
  }

  private keep(next: Kept): void {
    const maxPreviews = this.deps.maxPreviews ?? 4;
    const maxBytes = this.deps.maxBytes ?? 64 * 1024 ** 2;
    this.kept.push(next);
    let bytes = this.kept.reduce((n, k) => n + k.bytes, 0);
    while (this.kept.length > 1 && (this.kept.length > maxPreviews || bytes > maxBytes))
      bytes -= this.kept.shift()!.bytes;
  }
}

/** A whole 32-bit float WAV in memory: the decoder in the page reads the engine's samples back unchanged. */
async function floatWav(channels: Float32Array[], sampleRate: number): Promise<Buffer> {
  const encoder = await createSampleEncoder({ format: 'wav', bitDepth: '32f', sampleRate, channels: channels.length });
  const body = encoder.encode(channels);
  const { tail, patches } = encoder.finish();
  const out = Buffer.concat([...body, ...tail]);
  for (const p of patches) out.set(p.bytes, p.at);
  return out;
}
