/** What the scheduler runs: one step of the simulated world, to completion, before the next. */
export type ScheduledAction = () => Promise<void> | void;

interface ScheduledEvent {
  readonly atMs: number;
  readonly sequence: number;
  readonly label: string;
  readonly action: ScheduledAction;
}

/**
 * Virtual time. Events run one at a time in (time, insertion) order and each runs to completion
 * (its promises settle) before the next starts, so the interleaving of every cell, relay, consumer
 * and client is decided by the seed alone. No real timer is involved anywhere.
 */
export class VirtualScheduler {
  private readonly heap: ScheduledEvent[] = [];
  private sequence = 0;
  private current = 0;

  get nowMs(): number {
    return this.current;
  }

  get pending(): number {
    return this.heap.length;
  }

  at(atMs: number, label: string, action: ScheduledAction): void {
    const event = { atMs: Math.max(atMs, this.current), sequence: this.sequence++, label, action };
    this.heap.push(event);
    this.siftUp(this.heap.length - 1);
  }

  after(delayMs: number, label: string, action: ScheduledAction): void {
    this.at(this.current + Math.max(0, delayMs), label, action);
  }

  /** Takes the next event due at or before `untilMs` and advances time to it. */
  next(untilMs: number): { readonly label: string; readonly action: ScheduledAction } | undefined {
    const top = this.heap[0];
    if (top === undefined || top.atMs > untilMs) return undefined;
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
    this.current = top.atMs;
    return top;
  }

  private before(left: ScheduledEvent, right: ScheduledEvent): boolean {
    return left.atMs < right.atMs || (left.atMs === right.atMs && left.sequence < right.sequence);
  }

  private siftUp(start: number): void {
    let index = start;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      const child = this.heap[index] as ScheduledEvent;
      const above = this.heap[parent] as ScheduledEvent;
      if (!this.before(child, above)) return;
      this.heap[index] = above;
      this.heap[parent] = child;
      index = parent;
    }
  }

  private siftDown(start: number): void {
    let index = start;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      const at = (i: number): ScheduledEvent => this.heap[i] as ScheduledEvent;
      if (left < this.heap.length && this.before(at(left), at(smallest))) smallest = left;
      if (right < this.heap.length && this.before(at(right), at(smallest))) smallest = right;
      if (smallest === index) return;
      const moved = at(index);
      this.heap[index] = at(smallest);
      this.heap[smallest] = moved;
      index = smallest;
    }
  }
}
