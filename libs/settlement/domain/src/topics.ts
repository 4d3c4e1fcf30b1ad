/**
 * Topic layout: one inbound topic per destination cell, so a cell consumes only what is addressed
 * to it and a slow cell delays nobody else; keyed by the destination account, so every event of one
 * account lands on one partition and applies in order. A dead-letter topic per cell holds events
 * that can never apply, with the error, until an operator replays them.
 */
export function inboundTopic(cellId: string, prefix = 'cellpay'): string {
  return `${prefix}.settlement.inbound.${cellId}`;
}

export function deadLetterTopic(cellId: string, prefix = 'cellpay'): string {
  return `${prefix}.settlement.dead-letter.${cellId}`;
}

export const inboundTopicConfig = {
  numPartitions: 6,
  /** A week: far past any outage we plan to ride out, small enough to bound disk. */
  retentionMs: 7 * 24 * 60 * 60 * 1000,
} as const;

export const deadLetterTopicConfig = {
  numPartitions: 1,
  /** Dead letters wait for a human; keep them a month. */
  retentionMs: 30 * 24 * 60 * 60 * 1000,
} as const;

/** Message headers every settlement event carries (besides its JSON body). */
export const settlementHeaders = {
  eventId: 'cellpay-event-id',
  eventType: 'cellpay-event-type',
  schemaVersion: 'cellpay-schema-version',
  requestId: 'cellpay-request-id',
  stress: 'cellpay-stress',
  /** On dead letters: why it could not apply, and how many times it was tried. */
  error: 'cellpay-error',
  attempts: 'cellpay-attempts',
  originalTopic: 'cellpay-original-topic',
} as const;
