import { createHash } from 'node:crypto';

import {
  CellError,
  CellErrorCode,
  type CellTransaction,
  IdempotencyKeyTaken,
  type UnitOfWork,
} from '@cellpay/cell-domain';

/** How often a request that lost a race on its key looks again for the winner's result. */
const idempotencyRoundsMax = 3;

/** Canonical JSON: object keys sorted, bigints as decimal strings; the input to the request hash. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return item.toString();
    if (
      item !== null &&
      typeof item === 'object' &&
      !Array.isArray(item) &&
      !(item instanceof Date)
    ) {
      const record = item as Record<string, unknown>;
      return Object.fromEntries(
        Object.keys(record)
          .sort()
          .map((key) => [key, record[key]]),
      );
    }
    return item;
  });
}

export function requestHashOf(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request), 'utf8').digest('hex');
}

export interface IdempotentRequest {
  /** Who owns the key space: a merchant for payments, a client for account operations. */
  readonly scope: string;
  readonly key: string;
  /** The canonical request; the same key with a different request is refused. */
  readonly request: unknown;
}

/**
 * Runs `work` at most once per (scope, key). The key is claimed first in the same transaction as
 * the work, so a concurrent duplicate waits on the unique index and, once the winner commits,
 * finds its stored response. The response is stored serialized and every caller (the first one
 * included) gets it back parsed from that same string, so replies are identical byte for byte.
 */
export async function runIdempotent<T>(
  unitOfWork: UnitOfWork,
  operation: string,
  idempotent: IdempotentRequest,
  work: (tx: CellTransaction) => Promise<T>,
): Promise<T> {
  return JSON.parse(await runIdempotentSerialized(unitOfWork, operation, idempotent, work)) as T;
}

/** As `runIdempotent`, returning the stored response as it is stored (canonical JSON). */
async function runIdempotentSerialized(
  unitOfWork: UnitOfWork,
  operation: string,
  idempotent: IdempotentRequest,
  work: (tx: CellTransaction) => Promise<unknown>,
): Promise<string> {
  const requestHash = requestHashOf(idempotent.request);
  for (let round = 0; round < idempotencyRoundsMax; round++) {
    const existing = await unitOfWork.run(`${operation}.idempotency`, (tx) =>
      tx.idempotency.find(idempotent.scope, idempotent.key),
    );
    if (existing !== undefined) {
      if (existing.requestHash !== requestHash) {
        throw new CellError(
          CellErrorCode.IdempotencyKeyReusedWithDifferentRequest,
          `key '${idempotent.key}' was used before with a different request`,
        );
      }
      return existing.responseJson;
    }
    try {
      return await unitOfWork.run(operation, async (tx) => {
        await tx.idempotency.claim({ ...idempotent, requestHash, responseJson: '' });
        const responseJson = canonicalJson(await work(tx));
        await tx.idempotency.complete(idempotent.scope, idempotent.key, responseJson);
        return responseJson;
      });
    } catch (error) {
      // Lost the race: the winner has committed by now; read its result in the next round.
      if (!(error instanceof IdempotencyKeyTaken)) throw error;
    }
  }
  throw new CellError(
    CellErrorCode.TransactionRetriesExhausted,
    `key '${idempotent.key}' stayed contended for ${idempotencyRoundsMax} rounds`,
  );
}
