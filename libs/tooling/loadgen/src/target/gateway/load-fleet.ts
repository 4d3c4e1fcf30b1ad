import type { CurrencyCode } from '@cellpay/money';
import type { CellpayClient } from '@cellpay/sdk';

/** A credential the generator signs with, exactly as a merchant's system would. */
export interface LoadCredential {
  readonly keyId: string;
  /** The 32-byte secret; never logged. */
  readonly secret: Buffer;
}

/** A merchant registered for load: it lives in one cell (the cell of its ID's slot). */
export interface FleetMerchant {
  readonly merchantId: string;
  readonly cellId: string;
  /** The one merchant that receives the hot share of payments. */
  readonly hot: boolean;
  readonly credential: LoadCredential;
}

/**
 * Everything an operator provisioned for a load run: the gateway, the merchants (each with its
 * own credential, spread over the cells, one of them hot) and the first-party wallet backend
 * that opens and funds the payers' wallets.
 */
export interface LoadFleet {
  readonly gatewayAddress: string;
  readonly currency: CurrencyCode;
  readonly walletBackend: LoadCredential;
  readonly merchants: readonly FleetMerchant[];
}

/** The calls of the merchant SDK the gateway target uses; `CellpayClient` is one. */
export type GatewayClient = Pick<
  CellpayClient,
  'pay' | 'refund' | 'getPayment' | 'openAccount' | 'topUp' | 'getBalance' | 'close'
>;

/** Opens an SDK client for one credential; `stress` marks all its requests as shadow traffic. */
export type GatewayClientFactory = (credential: LoadCredential, stress: boolean) => GatewayClient;

/** The cell a user ID routes to (its slot's owner in the routing table). */
export type CellOfUser = (userId: string) => string;

/**
 * The first IDs `${prefix}${n}` (n = 0, 1, ...) that route to each wanted cell, `perCell` of
 * each, in cell order. Slots are a hash of the ID, so the generator simply tries IDs until every
 * cell has its share; `attemptsMax` bounds the search (a cell that owns no slot never fills).
 */
export function idsSpreadOverCells(
  prefix: string,
  cells: readonly string[],
  perCell: number,
  cellOfUser: CellOfUser,
  attemptsMax: number,
): Map<string, string[]> {
  const byCell = new Map<string, string[]>(cells.map((cell) => [cell, []]));
  let filled = 0;
  const wanted = cells.length * perCell;
  for (let attempt = 0; attempt < attemptsMax && filled < wanted; attempt += 1) {
    const id = `${prefix}${attempt}`;
    const ids = byCell.get(cellOfUser(id));
    if (ids === undefined || ids.length >= perCell) continue;
    ids.push(id);
    filled += 1;
  }
  if (filled < wanted) {
    const short = cells.filter((cell) => (byCell.get(cell)?.length ?? 0) < perCell);
    throw new Error(
      `found no ${perCell} IDs routing to ${short.join(', ')} within ${attemptsMax} attempts: does every cell own slots?`,
    );
  }
  return byCell;
}
