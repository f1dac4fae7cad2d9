// Frames of the newest re-render that its copy does not hold yet, rendered from the estimate cache (renderRegion):
// the same samples the copy will hold. One render at a time per song (the DSP threads are shared with the re-render
// itself); a request for a newer revision cancels older ones, and the last few blocks are kept for requests that ask
// for them (or a part of them) again.
import type { RegionOk, SeparateRequest, SeparationControls } from '../engine/types.ts';
import type { JobView } from './contract.ts';
import { audioAnswer, notReady, type ListenAnswer } from './listen-answers.ts';
import { renderedBlock, type Copy, type CopyView, type RenderedBlock, type Song } from './listen-copy-state.ts';
import type { EnginePort } from './ports.ts';

/** Blocks rendered on demand kept per song. */
const KEPT_BLOCKS = 4;

export interface OnDemandDeps {
  renderRegion: NonNullable<EnginePort['renderRegion']>;
  /** The engine request a re-render with these controls sends, so both render the same audio. */
  requestFor(input: string, controls: SeparationControls): SeparateRequest;
  /** Reads frames the copy holds (written meanwhile). */
  fromCopy(
    job: JobView,
    copy: Copy,
    view: CopyView,
    from: number,
    frames: number,
    givenUp?: AbortSignal,
  ): Promise<ListenAnswer>;
}

/**
 * Frames [from, from + frames) of `copy` (a running re-render, the song's newest), rendered now. A request `givenUp`
 * (a seek, an aborted fetch) is not rendered when its turn comes, or stops being rendered.
 */
export async function renderOnDemand(
  deps: OnDemandDeps,
  job: JobView,
  song: Song,
  copy: Copy,
  from: number,
  frames: number,
  givenUp?: AbortSignal,
): Promise<ListenAnswer> {
  const view = copy.view!;
  const kept = renderedBlock(song, copy, from, frames);
  if (kept) return blockAnswer(view, kept, from, frames);
  if (song.demand && song.demand.revision > copy.revision) return notReady(job.name);
  if (!song.demand || song.demand.revision < copy.revision) {
    song.demand?.abort.abort();
    song.demand = { revision: copy.revision, abort: new AbortController(), tail: Promise.resolve() };
    song.rendered = [];
  }
  const demand = song.demand;
  const turn = demand.tail.then(async (): Promise<ListenAnswer> => {
    if (demand.abort.signal.aborted || !song.copies.includes(copy)) return notReady(job.name);
    // Rendering a block the player no longer wants would keep the one at its new playhead waiting.
    if (givenUp?.aborted) return notReady(job.name, 'the request was given up');
    // Written meanwhile (or rendered by the request before this one): no need to render it.
    if (from < copy.view!.readyFrames)
      return deps.fromCopy(job, copy, copy.view!, from, Math.min(frames, copy.view!.readyFrames - from), givenUp);
    const again = renderedBlock(song, copy, from, frames);
    if (again) return blockAnswer(view, again, from, frames);
    let result;
    try {
      result = await deps.renderRegion(
        deps.requestFor(job.input, copy.controls!),
        { start: from, frames },
        { signal: givenUp ? AbortSignal.any([demand.abort.signal, givenUp]) : demand.abort.signal },
      );
    } catch (err) {
      // The engine is stopping (the app closes): nothing more will be rendered.
      return notReady(job.name, `not rendered yet (${(err as Error).message})`);
    } finally {
      // The listener's block is there (or cannot be): the whole song renders now.
      copy.start?.();
    }
    if (!result.ok) {
      if (result.error.code === 'NOT_CACHED' || result.error.code === 'CANCELLED') return notReady(job.name);
      return { kind: 'failed', code: result.error.code, message: result.error.message };
    }
    const samples = interleave(result, view.sources);
    if (!samples)
      return {
        kind: 'failed',
        code: 'INTERNAL',
        message: `${job.name}: the part rendered has other stems than render ${copy.revision}`,
      };
    const block: RenderedBlock = { revision: copy.revision, start: result.start, frames: result.frames, samples };
    song.rendered = [block, ...song.rendered].slice(0, KEPT_BLOCKS);
    if (block.frames === 0) return notReady(job.name);
    return blockAnswer(view, block, from, Math.min(frames, block.frames));
  });
  demand.tail = turn.catch(() => {});
  return turn;
}

function blockAnswer(view: CopyView, block: RenderedBlock, from: number, frames: number): ListenAnswer {
  const width = view.sources.length * 2;
  const part = block.samples.subarray((from - block.start) * width, (from - block.start + frames) * width);
  return audioAnswer(part, width, view.sampleRate, from, frames);
}

/** A rendered part's stems interleaved in the copy's order; null when it has other stems. */
function interleave(part: RegionOk, sources: string[]): Float32Array | null {
  if (Object.keys(part.stems).length !== sources.length || sources.some((s) => !part.stems[s])) return null;
  const width = sources.length * 2;
  const out = new Float32Array(part.frames * width);
  sources.forEach((s, k) => {
    for (let c = 0; c < 2; c++) {
      const ch = part.stems[s][c];
      for (let i = 0, o = k * 2 + c; i < part.frames; i++, o += width) out[o] = ch[i];
    }
  });
  return out;
}
