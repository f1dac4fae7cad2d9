// The separation queue: songs run one after another through the engine (which itself works off this thread).
// Every change of a job is published as a JobView so each door can forward it to its UI.
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import type { Progress, SeparateRequest } from '../engine/types.ts';
import type { JobView } from './contract.ts';
import type { EnginePort } from './ports.ts';
import type { ListenTicket } from './listen-copies.ts';

interface Job {
  view: JobView;
  abort: AbortController | null;
  cancelRequested: boolean;
}

/** Progress is forwarded at most this often (ms); stage changes always go through. */
const PROGRESS_INTERVAL_MS = 100;

export class JobQueue {
  private readonly jobs = new Map<string, Job>();
  private running: Job | null = null;

  constructor(
    private readonly engine: EnginePort,
    /** Builds the engine request from the current settings at the moment the job starts. */
    private readonly requestFor: (input: string) => SeparateRequest,
    private readonly publish: (job: JobView) => void,
    private readonly onDone: (job: JobView) => void = () => {},
    /** Where a job's first render is copied for listening while it runs; absent: no listening copy. */
    private readonly listen: ((jobId: string) => ListenTicket) | null = null,
  ) {}

  add(input: string): JobView {
    const id = randomBytes(6).toString('hex');
    const view: JobView = {
      id,
      input,
      name: basename(input),
      state: 'queued',
      progress: null,
      result: null,
      error: null,
    };
    this.jobs.set(id, { view, abort: null, cancelRequested: false });
    this.publish(view);
    queueMicrotask(() => this.pump());
    return view;
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((j) => j.view);
  }

  get(id: string): JobView | undefined {
    return this.jobs.get(id)?.view;
  }

  retry(id: string): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.view.state === 'failed' || job.view.state === 'cancelled') {
      job.cancelRequested = false;
      this.update(job, { state: 'queued', progress: null, error: null, result: null });
      queueMicrotask(() => this.pump());
    }
    return job.view;
  }

  cancel(id: string): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    if (job.view.state === 'queued') {
      this.update(job, { state: 'cancelled', progress: null });
    } else if (job.view.state === 'running') {
      // The state flips when the engine returns, so "cancelled" always means nothing is left half-written.
      job.cancelRequested = true;
      job.abort?.abort();
    }
    return job.view;
  }

  /** Forgets a job; a running one is cancelled first. Returns false when the id is unknown. */
  remove(id: string): boolean {
    const job = this.jobs.get(id);
    if (!job) return false;
    if (job.view.state === 'running') this.cancel(id);
    this.jobs.delete(id);
    return true;
  }

  /** Resolves when no job is running or queued (used by shutdown and tests). */
  async idle(): Promise<void> {
    while (this.running || [...this.jobs.values()].some((j) => j.view.state === 'queued')) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Changes a job's view from outside the queue (a re-render of a finished song) and publishes it. */
  patch(id: string, patch: Partial<JobView>): JobView | undefined {
    const job = this.jobs.get(id);
    if (!job) return undefined;
    this.update(job, patch);
    return job.view;
  }

  cancelAll(): void {
    for (const j of this.jobs.values()) this.cancel(j.view.id);
  }

  private update(job: Job, patch: Partial<JobView>): void {
    job.view = { ...job.view, ...patch };
    if (this.jobs.get(job.view.id) === job) this.publish(job.view);
  }

  private pump(): void {
    if (this.running) return;
    const next = [...this.jobs.values()].find((j) => j.view.state === 'queued');
    if (!next) return;
    this.running = next;
    void this.run(next).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async run(job: Job): Promise<void> {
    job.abort = new AbortController();
    this.update(job, { state: 'running', progress: { fraction: 0, stage: 'load-model', etaSeconds: null } });
    let lastSent = 0;
    let lastStage = '';
    const onProgress = (p: Progress) => {
      const now = Date.now();
      if (p.stage === lastStage && now - lastSent < PROGRESS_INTERVAL_MS) return;
      lastSent = now;
      lastStage = p.stage;
      if (this.jobs.get(job.view.id) === job && job.view.state === 'running') this.update(job, { progress: p });
    };
    const ticket = this.listen?.(job.view.id) ?? null;
    let result;
    try {
      result = await this.engine.separate(this.requestFor(job.view.input), {
        onProgress,
        signal: job.abort.signal,
        ...(ticket ? { listen: { path: ticket.path, onReady: ticket.onListen } } : {}),
      });
    } catch (e) {
      // The engine reports per-file failures as values; a throw here is a bug or a crashed worker.
      const message = e instanceof Error ? e.message : String(e);
      result = {
        input: job.view.input,
        ok: false as const,
        error: { code: 'INTERNAL' as const, message: `${job.view.name}: ${message}` },
      };
    }
    job.abort = null;
    // Before the view changes, so the event that says "done" (or "failed") carries the copy's final state.
    ticket?.settle(result.ok);
    if (result.ok) {
      this.update(job, {
        state: 'done',
        progress: null,
        result: {
          sources: Object.keys(result.stems),
          stemPaths: { ...result.stems },
          sampleRate: result.sampleRate,
          duration: result.duration,
          modelId: result.modelId,
          ep: result.ep,
          epSkipped: result.epSkipped,
          epTimings: result.epTimings,
          timings: result.timings,
          notices: result.notices,
          controls: result.controls,
          ...(result.estimates ? { estimates: result.estimates } : {}),
          ...(result.title ? { title: result.title } : {}),
          ...(result.artist ? { artist: result.artist } : {}),
          ...(result.analysis ? { analysis: result.analysis } : {}),
        },
      });
    } else if (job.cancelRequested || result.error.code === 'CANCELLED') {
      this.update(job, { state: 'cancelled', progress: null });
    } else {
      this.update(job, {
        state: 'failed',
        progress: null,
        error: { code: result.error.code, message: result.error.message },
      });
    }
    this.onDone(job.view);
  }
}
