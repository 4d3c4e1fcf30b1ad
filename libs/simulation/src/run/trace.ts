import { createHash, type Hash } from 'node:crypto';

/** Lines of the trace kept for printing; the hash covers all of them. */
export const traceTailLinesMax = 80;

/** The run's history: every line feeds a SHA-256, so equal hashes mean equal histories. */
export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private readonly tail: string[] = [];
  lines = 0;

  constructor(private readonly nowMs: () => number) {}

  record(line: string): void {
    const stamped = `${this.nowMs()} ${line}`;
    this.hash.update(`${stamped}\n`);
    this.lines += 1;
    this.tail.push(stamped);
    if (this.tail.length > traceTailLinesMax) this.tail.shift();
  }

  digest(): string {
    return this.hash.copy().digest('hex');
  }

  lastLines(): readonly string[] {
    return [...this.tail];
  }
}
