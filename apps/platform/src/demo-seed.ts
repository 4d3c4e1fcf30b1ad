import { CellpayClient } from '@cellpay/sdk';

import {
  demoCurrency,
  demoMerchantId,
  demoWalletBackendId,
  type EmbeddedPlatform,
} from './embedded-platform';

export interface DemoUser {
  readonly userId: string;
  readonly cellId: string;
  readonly accountId: string;
  readonly balanceMinor: string;
}

/** Candidate demo users; the seed takes the first `demoUsersPerCell` that land in each cell. */
export const demoUserCandidates = [
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
  'grace',
  'heidi',
  'ivan',
  'judy',
  'mallory',
  'niaj',
  'olivia',
  'peggy',
  'rupert',
  'sybil',
  'trent',
  'victor',
  'walter',
  'xavier',
  'yvonne',
  'zoe',
] as const;
export const demoUsersPerCell = 2;
/** Every demo wallet starts with 1000.00 CNY. */
export const demoTopUpMinor = 100_000n;

/**
 * Seeds the demo: the demo merchant's account in its home cell (the cell of its ID: a payer in
 * another cell pays it across cells, through settlement), then wallets for the demo users opened and funded through the public API
 * with the first-party credential, exactly as a wallet backend would.
 */
export async function seedDemo(platform: EmbeddedPlatform): Promise<readonly DemoUser[]> {
  const merchantCellId = platform.routing.current().routeUser(demoMerchantId).cellId;
  for (const cell of platform.cells.filter((candidate) => candidate.cellId === merchantCellId)) {
    await platform.transport.call(cell.cellId, {
      service: 'AccountService',
      method: 'openAccount',
      request: { kind: 'merchant', ownerId: demoMerchantId, currency: demoCurrency },
      metadata: {},
      deadlineMs: 3_000,
    });
  }
  const backend = platform.credentials.find(
    (credential) => credential.ownerId === demoWalletBackendId,
  );
  if (backend === undefined) throw new Error('the demo wallet backend has no credential');
  const client = new CellpayClient({
    address: platform.gatewayAddress,
    keyId: backend.keyId,
    secret: Buffer.from(backend.secretHex, 'hex'),
  });
  try {
    const users: DemoUser[] = [];
    const table = platform.routing.current();
    const perCell = new Map<string, number>();
    const chosen = demoUserCandidates.filter((userId) => {
      const cellId = table.routeUser(userId).cellId;
      const count = perCell.get(cellId) ?? 0;
      perCell.set(cellId, count + 1);
      return count < demoUsersPerCell;
    });
    for (const userId of chosen) {
      const account = await client.openAccount({ userId, currency: demoCurrency });
      await client.topUp({
        requestId: `demo-seed-${userId}`,
        accountId: account.accountId,
        amount: { amountMinor: demoTopUpMinor, currency: demoCurrency },
      });
      const balance = await client.getBalance({ accountId: account.accountId });
      users.push({
        userId,
        cellId: table.routeUser(userId).cellId,
        accountId: account.accountId,
        balanceMinor: balance.balanceMinor,
      });
    }
    return users;
  } finally {
    client.close();
  }
}
