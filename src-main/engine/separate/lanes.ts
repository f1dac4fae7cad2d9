// The order the DSP pool (and each of its threads) takes chunks in: a listener waiting for the block at the playhead
// goes before a whole song's queued chunks, but a steady stream of such blocks cannot hold the song back for ever.
// Pure: no threads, no timers.

/**
 * Urgent items passed over waiting normal ones at most this many times in a row; then the oldest normal one goes.
 * A block at the playhead takes one to three chunks, so it is never split by this.
 */
export const URGENT_RUN_LIMIT = 8;

export class LaneQueue<T> {
  private readonly urgent: T[] = [];
  private readonly normal: T[] = [];
  /** Urgent items taken in a row while a normal one waited. */
  private run = 0;

  get size(): number {
    return this.urgent.length + this.normal.length;
  }

  push(item: T, urgent: boolean): void {
    (urgent ? this.urgent : this.normal).push(item);
  }

  /** The item that goes next, and whether it is urgent; undefined when empty. Does not take it. */
  peek(): { item: T; urgent: boolean } | undefined {
    const urgentNext = this.urgent.length > 0 && (this.normal.length === 0 || this.run < URGENT_RUN_LIMIT);
    if (urgentNext) return { item: this.urgent[0], urgent: true };
    return this.normal.length ? { item: this.normal[0], urgent: false } : undefined;
  }

  /** Takes the item peek() names. */
  shift(): T | undefined {
    const next = this.peek();
    if (!next) return undefined;
    if (next.urgent) {
      if (this.normal.length) this.run++;
      return this.urgent.shift();
    }
    this.run = 0;
    return this.normal.shift();
  }

  /** Takes the first item `match` accepts out of its lane, wherever it is; undefined when none does. */
  remove(match: (item: T) => boolean): T | undefined {
    for (const lane of [this.urgent, this.normal]) {
      const i = lane.findIndex(match);
      if (i >= 0) return lane.splice(i, 1)[0];
    }
    return undefined;
  }

  /** Takes every item, in no particular order. */
  drain(): T[] {
    return [...this.urgent.splice(0), ...this.normal.splice(0)];
  }
}
