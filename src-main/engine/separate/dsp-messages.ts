// The messages between the DspPool (dsp-pool.ts) and its threads (dsp-worker.ts), in a module of their own so that
// the pool can use them without loading the worker's code.
import type { ErrorCode } from '../errors.ts';
import type { ChunkTask } from './chunk-render.ts';

/**
 * render: `urgent` goes before the thread's queued normal chunks (lanes.ts). cancel: a chunk not started yet is
 * dropped and answered as CANCELLED; one being rendered is answered as usual.
 */
export type ToDspWorker =
  { type: 'render'; id: number; task: ChunkTask; urgent: boolean } | { type: 'cancel'; id: number };
export type FromDspWorker =
  | { id: number; ok: true; stems: Float32Array[][]; stft: number; wiener: number; istft: number }
  | { id: number; ok: false; message: string; code?: ErrorCode };

/** The id of a failure report for a message that never arrived (its own id is unknown). */
export const UNDELIVERED = -1;
