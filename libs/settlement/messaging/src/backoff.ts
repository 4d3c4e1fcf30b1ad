export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
}

/** Exponential backoff with full jitter, capped at `maxMs`. `random` is injectable for tests. */
export function backoffMs(
  policy: BackoffPolicy,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
