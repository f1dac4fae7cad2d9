// Speed and time left of a transfer, from (time, bytes) samples over a sliding window so that a stall shows
// quickly and one burst does not promise too much. Pure: the caller passes the clock.

export interface TransferRate {
  /** Bytes per second over the window; null until two samples are at least a moment apart. */
  bytesPerSecond: number | null;
  /** Seconds until `total` at that speed; null without a speed or a total. */
  secondsLeft: number | null;
}

export class TransferRateMeter {
  private samples: { at: number; bytes: number }[] = [];

  constructor(private readonly windowMs = 5000) {}

  /** `at` in milliseconds (any monotonic clock), `bytes` received so far. */
  sample(at: number, bytes: number, total: number | null): TransferRate {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && at - this.samples[1].at >= this.windowMs) this.samples.shift();
    const first = this.samples[0];
    const span = at - first.at;
    if (span < 200) return { bytesPerSecond: null, secondsLeft: null };
    const bytesPerSecond = Math.max(0, ((bytes - first.bytes) * 1000) / span);
    const secondsLeft = total !== null && bytesPerSecond > 0 ? Math.max(0, (total - bytes) / bytesPerSecond) : null;
    return { bytesPerSecond, secondsLeft };
  }

  /** Forgets the samples: a resumed transfer measures its own speed, not the pause. */
  reset(): void {
    this.samples = [];
  }
}
