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

/**
 * Refusals that are the answer to a request, not an accident of the moment: they are stored under
 * the key like a response, so the same key always gets the same answer. Without this, a client
 * whose first attempt was delayed could be told `insufficient_funds` by its retry and still see
 * the first attempt commit later. Not stored: contention (`transaction_retries_exhausted`, the
 * client should retry), a key reused with another request (the stored answer is the first
 * request's), an unbalanced journal (a bug, never an answer), and a slot that moved or is frozen
 * (the retry, routed anew or after the unfreeze, must be able to succeed).
 */
const storedRefusalCodes: ReadonlySet<CellErrorCode> = new Set(
  Object.values(CellErrorCode).filter(
    (code) =>
      code !== CellErrorCode.TransactionRetriesExhausted &&
      code !== CellErrorCode.IdempotencyKeyReusedWithDifferentRequest &&
      code !== CellErrorCode.JournalUnbalanced &&
      code !== CellErrorCode.SlotNotOwnedAtEpoch &&
      code !== CellErrorCode.SlotFrozen,
  ),
);

/** The stored form of a refusal; no response is an object with this key (they are records). */
const refusalMarker = '!refused';

function refusalJson(error: CellError): string {
  return canonicalJson({ [refusalMarker]: { code: error.code, message: error.message } });
}

/** The stored refusal as the error it was, or undefined for a stored response. */
function storedRefusal(responseJson: string): CellError | undefined {
  if (!responseJson.startsWith(`{"${refusalMarker}":`)) return undefined;
  const stored = (JSON.parse(responseJson) as Record<string, { code?: string; message?: string }>)[
    refusalMarker
  ];
  const code = Object.values(CellErrorCode).find((value) => value === stored?.code);
  if (code === undefined) throw new Error(`stored refusal with an unknown code: ${responseJson}`);
  return new CellError(code, stored?.message ?? '');
}

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
  /**
   * Whether a refusal becomes the key's answer (the default). A key the cell derives itself
   * rather than the client choosing it (one capture per payment: `capture:<payment ID>`) must stay
   * free after a refusal, or a corrected request could never run: pass false there.
   */
  readonly refusalsStored?: boolean;
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
      const refusal = storedRefusal(existing.responseJson);
      if (refusal !== undefined) throw refusal;
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
      if (error instanceof IdempotencyKeyTaken) continue;
      if (idempotent.refusalsStored === false) throw error;
      if (!(error instanceof CellError) || !storedRefusalCodes.has(error.code)) throw error;
      // The work refused and its transaction rolled back. The refusal is recorded under the key
      // in a transaction of its own; if another attempt with the key committed first, its answer
      // wins and is returned in the next round, so every attempt gets one and the same answer.
      if (await recordRefusal(unitOfWork, operation, { ...idempotent, requestHash }, error)) {
        throw error;
      }
    }
  }
  throw new CellError(
    CellErrorCode.TransactionRetriesExhausted,
    `key '${idempotent.key}' stayed contended for ${idempotencyRoundsMax} rounds`,
  );
}

/** Stores a refusal as the key's answer; false when another attempt's answer got there first. */
async function recordRefusal(
  unitOfWork: UnitOfWork,
  operation: string,
  record: IdempotentRequest & { readonly requestHash: string },
  refusal: CellError,
): Promise<boolean> {
  try {
    await unitOfWork.run(`${operation}.refusal`, (tx) =>
      tx.idempotency.claim({
        scope: record.scope,
        key: record.key,
        requestHash: record.requestHash,
        responseJson: refusalJson(refusal),
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof IdempotencyKeyTaken) return false;
    throw error;
  }
}
