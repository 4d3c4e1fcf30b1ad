import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * What follows one request through every process it touches: the gateway creates it, gRPC
 * metadata carries it to the cell, the outbox row and Kafka headers carry it to the other cell.
 * `stress` marks shadow (full-link stress test) traffic, which must only ever touch shadow tables
 * and shadow Redis keys.
 */
export interface RequestContext {
  readonly requestId: string;
  readonly stress: boolean;
}

/** gRPC metadata keys (lower case, as gRPC requires) that carry the context between processes. */
export const requestContextMetadata = {
  requestId: 'x-request-id',
  /** `1` marks stress traffic, `0` or absence marks live traffic; anything else is refused. */
  stress: 'x-cellpay-stress',
} as const;

/**
 * The longest request ID accepted. It must fit a settlement event's ID field (128 characters of
 * `[A-Za-z0-9_.:-]`), since the ID travels on in the event across cells.
 */
export const requestIdLengthMax = 128;

const requestIdPattern = /^[A-Za-z0-9_.:-]+$/;

export function isValidRequestId(value: string): boolean {
  return value.length > 0 && value.length <= requestIdLengthMax && requestIdPattern.test(value);
}

/** A fresh request ID for a call that came without one. */
export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

/** Reads the stress mark of metadata: true, false, or undefined when the value is not `0`/`1`. */
export function stressMarkOf(value: string | undefined): boolean | undefined {
  if (value === undefined || value === '0') return false;
  if (value === '1') return true;
  return undefined;
}

const storage = new AsyncLocalStorage<RequestContext>();

/** Runs `work` (and everything it starts asynchronously) inside `context`. */
export function runInRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The context of the running request, or undefined outside any request (jobs, startup). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Whether the running code serves stress traffic. Outside any request it is live: background
 * jobs that must work on shadow tables enter a stress context explicitly.
 */
export function isStressTraffic(): boolean {
  return storage.getStore()?.stress === true;
}
