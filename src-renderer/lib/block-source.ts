// Where the player's audio comes from: blocks of a render, all stems at once, read on demand. The app reads them
// from the listening route (one 32-bit float WAV per block, two channels per stem in the render's stem order);
// tests read them from arrays.
import type { ApiError } from '../../src-main/api/contract.ts';
import type { ErrorCode } from '../../src-main/engine/errors.ts';
import { readFloatWav } from './float-wav.ts';

/** The code of a refusal the player answers by asking again later; other refusals (busy, already there) are errors. */
const NOT_READY: ErrorCode = 'NOT_READY';

/** A render the player can stream: what the app calls a listening copy (ListenView). */
export interface StreamView {
  revision: number;
  /** The song's own rate; the blocks come at it. */
  sampleRate: number;
  /** The song's length in frames. */
  frames: number;
  /** Frames from 0 that are final and can be read; == frames once the render is complete. */
  readyFrames: number;
  /** The render has finished: every frame can be asked for, though its copy may be written again first. */
  complete?: boolean;
  /** Stems in the render, in order. */
  sources: string[];
}

/** Frames [from, from + frames) of a render: per stem its channels (two for stereo), each `frames` long. */
export interface Block {
  from: number;
  frames: number;
  stems: Map<string, Float32Array<ArrayBuffer>[]>;
}

/** Nothing from the frame asked for is final yet; `notReady`: why, in the app's words. */
export interface NotReady {
  notReady: string;
}

export interface BlockSource {
  /** Up to `frames` frames from `from` (fewer where less is final); NotReady when nothing from `from` is yet. */
  read(revision: number, from: number, frames: number, signal?: AbortSignal): Promise<Block | NotReady>;
}

/**
 * Blocks from the listening route. `sourcesOf` names the stems of a revision (its ListenView's sources), as the WAV
 * carries only channels.
 */
export function listenBlockSource(
  url: (revision: number, from: number, frames: number) => string,
  sourcesOf: (revision: number) => string[],
): BlockSource {
  return {
    async read(revision, from, frames, signal) {
      const res = await fetch(url(revision, from, frames), { signal, cache: 'no-store' });
      if (!res.ok) {
        // The app's answer says why, naming the song and any file it lacks, in the API's error form; the status is all
        // a bare refusal has.
        const text = (await res.text().catch(() => '')).trim();
        const error = (res.headers.get('content-type') ?? '').startsWith('application/json') ? apiError(text) : null;
        const reason = error ? error.message : text;
        // Not final yet: the player keeps what it has and asks again later.
        if (error?.code === NOT_READY) return { notReady: reason || `the audio at frame ${from} is not ready yet` };
        throw new Error(reason || `could not load the song's audio at frame ${from} (${res.status} ${res.statusText})`);
      }
      const wav = readFloatWav(await res.arrayBuffer());
      const sources = sourcesOf(revision);
      if (!wav || wav.channels.length !== 2 * sources.length)
        throw new Error('the audio block is not the float WAV it should be');
      const stems = new Map(sources.map((name, i) => [name, [wav.channels[2 * i], wav.channels[2 * i + 1]]]));
      return { from, frames: wav.channels[0]?.length ?? 0, stems };
    },
  };
}

/** The code and message of an answer in the API's error form ({ ok: false, error: { code, message } }), '' if none. */
function apiError(json: string): ApiError {
  try {
    const error = (JSON.parse(json) as { error?: { code?: unknown; message?: unknown } }).error;
    return {
      code: typeof error?.code === 'string' ? error.code : '',
      message: typeof error?.message === 'string' ? error.message : '',
    };
  } catch {
    return { code: '', message: '' };
  }
}
