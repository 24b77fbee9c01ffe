/**
 * Coalesces live positions: at most one send per line per frame, and the last value wins.
 * A drag on a 120 Hz touch screen produces more moves than the therapist's screen can show.
 */
export type Scheduler = (flush: () => void) => void;

/**
 * The next animation frame, with a timer as a fallback: a hidden or throttled page may never
 * paint, and a position must not wait for that.
 */
export const nextFrame: Scheduler = (flush) => {
  let done = false;
  const run = (): void => {
    if (!done) {
      done = true;
      flush();
    }
  };
  requestAnimationFrame(run);
  setTimeout(run, 100);
};

export class MarkCoalescer<K extends string = string> {
  private pending = new Map<K, number>();
  private scheduled = false;

  constructor(
    private readonly send: (item: K, mm: number) => void,
    private readonly schedule: Scheduler = nextFrame,
  ) {}

  /** Keeps the latest position of `item`; schedules one flush if none is due. */
  push(item: K, mm: number): void {
    this.pending.set(item, mm);
    if (!this.scheduled) {
      this.scheduled = true;
      this.schedule(() => this.flush());
    }
  }

  /** Forgets a pending position, e.g. because a committed value replaces it. */
  cancel(item: K): void {
    this.pending.delete(item);
  }

  /** Sends the latest position of every line that changed since the last flush. */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    this.pending = new Map();
    for (const [item, mm] of pending) this.send(item, mm);
  }
}
