/**
 * The events that carry money between cells. Every event is addressed to one cell, travels on that
 * cell's inbound topic keyed by the account it touches, and is applied there exactly once (the
 * event ID is the inbox key). The schema is versioned: a consumer refuses a version it does not
 * know, and such an event goes to the dead-letter topic instead of being guessed at.
 */
export const settlementSchemaVersion = 1;

export enum SettlementEventType {
  /** Payer's cell -> payee's cell: credit the payee against the clearing account. */
  CreditRequested = 'credit_requested',
  /** Payee's cell -> payer's cell: the credit was applied; the saga is settled. */
  CreditApplied = 'credit_applied',
  /** Payer's cell -> payee's cell: refund: debit the merchant, if it has the funds. */
  RefundDebitRequested = 'refund_debit_requested',
  /** Payee's cell -> payer's cell: the merchant was debited; credit the payer back. */
  RefundDebitApplied = 'refund_debit_applied',
  /** Payee's cell -> payer's cell: the merchant could not be debited; record the refusal. */
  RefundDebitRefused = 'refund_debit_refused',
}

export interface SettlementEvent {
  readonly schemaVersion: number;
  /** Unique; the inbox dedup key in the destination cell. */
  readonly eventId: string;
  readonly type: SettlementEventType;
  readonly sourceCellId: string;
  readonly destinationCellId: string;
  /** The business record the saga belongs to (payment, transfer or refund ID). */
  readonly sagaId: string;
  /** The account in the destination cell this event touches: the partition key. */
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly currency: string;
  /** When the outbox row was written in the source cell (ms since epoch): settlement lag starts here. */
  readonly createdAtMs: number;
  /** Shadow (stress-test) traffic: applied to shadow tables only. */
  readonly stress: boolean;
  /** The request ID that started the saga, for logs across cells. */
  readonly requestId: string;
  /** Type-specific facts (for example the refusal reason), all strings. */
  readonly attributes: Readonly<Record<string, string>>;
}

export class SettlementEventError extends Error {
  constructor(message: string) {
    super(`settlement event: ${message}`);
    this.name = 'SettlementEventError';
  }
}

const cellIdPattern = /^cell-[0-9]{1,3}$/;
const idPattern = /^[A-Za-z0-9_.:-]{1,128}$/;
const currencyPattern = /^[A-Z]{3}$/;
const attributesMax = 16;
const attributeLengthMax = 512;
const amountMinorMax = 9_223_372_036_854_775_807n;

/** Wire form: JSON, amounts as decimal strings (never JS numbers). */
export function serializeSettlementEvent(event: SettlementEvent): string {
  checkEvent(event);
  return JSON.stringify({ ...event, amountMinor: event.amountMinor.toString() });
}

/** Parses and validates an event from the wire; anything malformed is refused, never repaired. */
export function parseSettlementEvent(json: string): SettlementEvent {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch {
    throw new SettlementEventError('not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw new SettlementEventError('not an object');
  const r = raw as Record<string, unknown>;
  if (r['schemaVersion'] !== settlementSchemaVersion) {
    throw new SettlementEventError(`unknown schema version ${String(r['schemaVersion'])}`);
  }
  const amount = r['amountMinor'];
  if (typeof amount !== 'string' || !/^[0-9]{1,19}$/.test(amount)) {
    throw new SettlementEventError('amountMinor must be a decimal string');
  }
  const event: SettlementEvent = {
    schemaVersion: settlementSchemaVersion,
    eventId: text(r, 'eventId'),
    type: text(r, 'type') as SettlementEventType,
    sourceCellId: text(r, 'sourceCellId'),
    destinationCellId: text(r, 'destinationCellId'),
    sagaId: text(r, 'sagaId'),
    accountId: text(r, 'accountId'),
    amountMinor: BigInt(amount),
    currency: text(r, 'currency'),
    createdAtMs: integer(r, 'createdAtMs'),
    stress: r['stress'] === true,
    requestId: text(r, 'requestId'),
    attributes: attributes(r['attributes']),
  };
  checkEvent(event);
  return event;
}

function checkEvent(event: SettlementEvent): void {
  if (!Object.values(SettlementEventType).includes(event.type)) {
    throw new SettlementEventError(`unknown type ${String(event.type)}`);
  }
  for (const [name, value] of [
    ['eventId', event.eventId],
    ['sagaId', event.sagaId],
    ['accountId', event.accountId],
    ['requestId', event.requestId],
  ] as const) {
    if (!idPattern.test(value)) throw new SettlementEventError(`${name} is malformed`);
  }
  for (const [name, value] of [
    ['sourceCellId', event.sourceCellId],
    ['destinationCellId', event.destinationCellId],
  ] as const) {
    if (!cellIdPattern.test(value)) throw new SettlementEventError(`${name} is malformed`);
  }
  if (event.sourceCellId === event.destinationCellId) {
    throw new SettlementEventError('source and destination cell are the same');
  }
  if (event.amountMinor <= 0n || event.amountMinor > amountMinorMax) {
    throw new SettlementEventError('amountMinor must be positive and fit in BIGINT');
  }
  if (!currencyPattern.test(event.currency))
    throw new SettlementEventError('currency is malformed');
  if (!Number.isSafeInteger(event.createdAtMs) || event.createdAtMs <= 0) {
    throw new SettlementEventError('createdAtMs must be a positive integer');
  }
}

function text(record: Record<string, unknown>, name: string): string {
  const value = record[name];
  if (typeof value !== 'string') throw new SettlementEventError(`${name} must be a string`);
  return value;
}

function integer(record: Record<string, unknown>, name: string): number {
  const value = record[name];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new SettlementEventError(`${name} must be an integer`);
  }
  return value;
}

function attributes(value: unknown): Readonly<Record<string, string>> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SettlementEventError('attributes must be an object');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > attributesMax) throw new SettlementEventError('too many attributes');
  for (const [key, item] of entries) {
    if (typeof item !== 'string' || item.length > attributeLengthMax) {
      throw new SettlementEventError(
        `attribute ${key} must be a string of at most ${attributeLengthMax}`,
      );
    }
  }
  return Object.fromEntries(entries) as Record<string, string>;
}
