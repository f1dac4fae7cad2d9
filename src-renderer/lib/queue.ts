// The renderer's view of the separation queue: a pure reducer over the service's job events, plus what each
// job state allows. The service owns the real queue; this only mirrors it for display.
import type { JobState, JobView, Stage, StudioEvent } from '../../src-main/api/contract.ts';

export interface QueueState {
  order: string[];
  jobs: Record<string, JobView>;
  /** The song shown in the editor. */
  selectedId: string | null;
}

export const emptyQueue: QueueState = { order: [], jobs: {}, selectedId: null };

export function fromJobs(jobs: JobView[]): QueueState {
  return jobs.reduce((s, job) => applyEvent(s, { type: 'job', job }), emptyQueue);
}

export function applyEvent(state: QueueState, event: StudioEvent): QueueState {
  if (event.type === 'job') {
    const { job } = event;
    const known = job.id in state.jobs;
    const before = state.jobs[job.id];
    const next: QueueState = {
      ...state,
      order: known ? state.order : [...state.order, job.id],
      jobs: { ...state.jobs, [job.id]: job },
    };
    // The first song the editor can show (finished, or its listening copy begun) opens in it, unless the user is
    // already looking at one.
    const justOpenable = openable(job) && !(before && openable(before));
    const selected = state.selectedId ? next.jobs[state.selectedId] : null;
    if (justOpenable && (!selected || !openable(selected))) next.selectedId = job.id;
    return next;
  }
  if (event.type === 'job-removed') {
    if (!(event.jobId in state.jobs)) return state;
    const jobs = { ...state.jobs };
    delete jobs[event.jobId];
    const order = state.order.filter((id) => id !== event.jobId);
    const selectedId =
      state.selectedId === event.jobId ? (order.find((id) => openable(jobs[id])) ?? null) : state.selectedId;
    return { order, jobs, selectedId };
  }
  return state;
}

/** Whether the editor can play a song: it is separated, or the first seconds of its separation are final. */
export function playable(job: JobView): boolean {
  return job.state === 'done' || (job.state === 'running' && (job.listen?.readyFrames ?? 0) > 0);
}

/**
 * Whether the editor can show a song: once it is playable, and already while its first seconds are separated (its
 * listening copy begun), so the editor and its audio are set up by the time they are final; play waits for them.
 */
export function openable(job: JobView): boolean {
  return playable(job) || (job.state === 'running' && job.listen != null);
}

export function select(state: QueueState, id: string): QueueState {
  return id in state.jobs ? { ...state, selectedId: id } : state;
}

export interface JobActions {
  cancel: boolean;
  retry: boolean;
  remove: boolean;
  open: boolean;
}

const ACTIONS: Record<JobState, Omit<JobActions, 'open'>> = {
  queued: { cancel: true, retry: false, remove: true },
  running: { cancel: true, retry: false, remove: false },
  done: { cancel: false, retry: false, remove: true },
  failed: { cancel: false, retry: true, remove: true },
  cancelled: { cancel: false, retry: true, remove: true },
};

export function actionsFor(job: JobView): JobActions {
  // A running song opens by itself once its listening copy is begun; after looking at another song the user can
  // come back to it.
  return { ...ACTIONS[job.state], open: openable(job) };
}

export function counts(state: QueueState): Record<JobState, number> {
  const c: Record<JobState, number> = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
  for (const id of state.order) c[state.jobs[id].state]++;
  return c;
}

/** The status line under a song's name. */
export function statusText(job: JobView): string {
  switch (job.state) {
    case 'queued':
      return 'Waiting';
    case 'running': {
      const p = job.progress;
      if (!p) return 'Starting…';
      const pct = `${Math.floor(p.fraction * 100)} %`;
      return `${STAGE_NAMES[p.stage]} · ${pct}${p.etaSeconds != null ? ` · ${formatEta(p.etaSeconds)}` : ''}`;
    }
    case 'done':
      return job.result ? `${job.result.sources.length} stems · ${job.result.ep.toUpperCase()}` : 'Done';
    case 'failed':
      return job.error ? shortenPath(job.error.message, job.input, job.name) : 'Failed';
    case 'cancelled':
      return 'Cancelled';
  }
}

const STAGE_NAMES: Record<Stage, string> = {
  'load-model': 'Loading model',
  decode: 'Decoding',
  resample: 'Resampling',
  stft: 'Analysing',
  network: 'Separating',
  wiener: 'Refining',
  encode: 'Encoding',
  write: 'Writing',
};

/** Why a provider was skipped, without the provider's name repeated in front ("cuda: …"). */
export function skipReason(s: { ep: string; reason: string }): string {
  return s.reason.startsWith(`${s.ep}: `) ? s.reason.slice(s.ep.length + 2) : s.reason;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '';
  if (seconds < 1) return 'almost done';
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return `${m} min ${String(s).padStart(2, '0')} s left`;
}

/** Error messages name the file by its full path; the queue row already shows where it is, so the name suffices. */
function shortenPath(message: string, input: string, name: string): string {
  return message.startsWith(input) ? name + message.slice(input.length) : message;
}

/** How a song is named on screen: its tagged title and artist when it has them, else its file name. */
export function songLabel(job: JobView): { title: string; artist: string | null } {
  return { title: job.result?.title ?? job.name, artist: job.result?.artist ?? null };
}
