// Turns "how much work is done" into Progress events with an ETA. The clock is passed in so tests need no timers.
import type { Progress, Stage } from '../types.ts';

/** Share of the whole job before the chunk loop (decode, resample) and after it (renaming the stems). */
const BEFORE = 0.08;
const AFTER = 0.02;

export class ProgressTracker {
  private started: number | null = null;
  private lastFraction = 0;

  constructor(
    private readonly emit: (p: Progress) => void,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Before the chunk loop: `part` of 0..1 of the decode/resample share. */
  preparing(stage: Stage, part: number): void {
    this.send(stage, BEFORE * clamp01(part), null);
  }

  /** Inside the chunk loop: `done` of `total` work units finished. The ETA extrapolates the loop's own pace. */
  working(stage: Stage, done: number, total: number): void {
    const t = this.now();
    if (this.started === null) this.started = t;
    const part = total > 0 ? clamp01(done / total) : 1;
    const elapsed = t - this.started;
    // Too early to extrapolate: the first batch includes one-off costs.
    const eta = part >= 0.02 && elapsed > 0 ? (elapsed * (1 - part)) / part : null;
    this.send(stage, BEFORE + (1 - BEFORE - AFTER) * part, eta);
  }

  finishing(): void {
    this.send('write', 1 - AFTER, 0);
  }

  done(): void {
    this.send('write', 1, 0);
  }

  private send(stage: Stage, fraction: number, etaSeconds: number | null): void {
    // Never step backwards: a UI bar that jumps back looks broken.
    this.lastFraction = Math.max(this.lastFraction, fraction);
    this.emit({ fraction: this.lastFraction, stage, etaSeconds: etaSeconds === null ? null : Math.max(0, etaSeconds) });
  }
}

function clamp01(x: number): number {
  return Math.min(1, Math.max(0, x));
}
