import type { RowDataPacket } from 'mysql2/promise';

import { createMysqlPool, mysqlEndpointOf } from '@cellpay/connections';
import { ShardNode } from '@cellpay/failover';
import { settlementTableSet } from '@cellpay/settlement-cell';

/** Every probe of `cellctl status` gives up after this long: status must answer when parts are down. */
export const statusProbeTimeoutMs = 2_000;

export interface OutboxProbe {
  /** Settlement events written and not yet published. */
  readonly depth: number;
  /** Age of the oldest of them, in seconds; 0 when the outbox is empty. */
  readonly oldestAgeSeconds: number;
}

export interface ReplicaProbe {
  readonly replicating: boolean;
  /** As the replica reports it; null while it does not know (threads stopped). */
  readonly secondsBehind: number | null;
  readonly sourcePort: number | null;
}

/** A probe's answer, or why there is none (unreachable, not configured). */
export type Probed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

async function probe<T>(work: () => Promise<T>): Promise<Probed<T>> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), statusProbeTimeoutMs);
    });
    return { ok: true, value: await Promise.race([work(), timeout]) };
  } catch (error) {
    // Not `instanceof Error`: errors from fetch may come from another realm (undici, test VMs).
    const text = (error as { message?: unknown } | null)?.message;
    const message = typeof text === 'string' ? text : String(error);
    return { ok: false, why: message.split('\n')[0] ?? message };
  } finally {
    clearTimeout(timer);
  }
}

/** The settlement outbox of a cell's shard (its primary): depth and the oldest unsent event's age. */
export function probeOutbox(primaryUrl: string, nowMs: number): Promise<Probed<OutboxProbe>> {
  return probe(async () => {
    const pool = createMysqlPool(mysqlEndpointOf(primaryUrl, 'shard URL'), {
      connectionsMax: 1,
      queuedRequestsMax: 1,
      connectTimeoutMs: statusProbeTimeoutMs,
    });
    try {
      const [rows] = await pool.query<RowDataPacket[]>({
        sql: `SELECT COUNT(*) AS depth, MIN(created_at_ms) AS oldest
              FROM ${settlementTableSet().outbox} WHERE published = 0`,
        timeout: statusProbeTimeoutMs,
      });
      const depth = Number(rows[0]?.['depth'] ?? 0);
      const oldest = rows[0]?.['oldest'];
      const oldestAgeSeconds =
        oldest === null || oldest === undefined ? 0 : Math.max(0, (nowMs - Number(oldest)) / 1000);
      return { depth, oldestAgeSeconds };
    } finally {
      await pool.end();
    }
  });
}

/** The replica of a cell's shard: is it replicating, and how far behind. */
export function probeReplica(replicaUrl: string): Promise<Probed<ReplicaProbe>> {
  return probe(async () => {
    const node = new ShardNode({ ...mysqlEndpointOf(replicaUrl, 'replica URL'), name: 'replica' });
    try {
      const facts = await node.facts();
      return {
        replicating: facts.replica?.ioThreadRunning === true && facts.replica.sqlThreadRunning,
        secondsBehind: facts.replica?.secondsBehindSource ?? null,
        sourcePort: facts.replica?.sourcePort ?? null,
      };
    } finally {
      await node.close();
    }
  });
}

const breakerStates = ['closed', 'half-open', 'open'] as const;

/**
 * The gateway's breaker towards each cell, read from its `/metrics`
 * (`cellpay_circuit_breaker_state{cell=...}`: 0 closed, 1 half-open, 2 open).
 */
export function probeBreakers(opsAddress: string): Promise<Probed<ReadonlyMap<string, string>>> {
  return probe(async () => {
    const response = await fetch(`http://${opsAddress}/metrics`, {
      signal: AbortSignal.timeout(statusProbeTimeoutMs),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return parseBreakerStates(await response.text());
  });
}

export function parseBreakerStates(metricsText: string): ReadonlyMap<string, string> {
  const states = new Map<string, string>();
  const pattern = /^cellpay_circuit_breaker_state\{[^}]*cell="([^"]+)"[^}]*\}\s+(\d+)/;
  for (const line of metricsText.split('\n')) {
    const match = pattern.exec(line);
    if (match?.[1] === undefined || match[2] === undefined) continue;
    states.set(match[1], breakerStates[Number(match[2])] ?? `state ${match[2]}`);
  }
  return states;
}
