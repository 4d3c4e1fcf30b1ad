import { formatTable } from '@cellpay/sdk';

import type { DemoUser } from './demo-seed';

export interface BannerFacts {
  readonly gatewayAddress: string;
  readonly cells: readonly string[];
  readonly credentialsFile: string;
  readonly merchantId: string;
  readonly users: readonly DemoUser[];
}

/** What `npm start` prints: where the API is, who exists, and commands to paste. */
export function renderBanner(facts: BannerFacts): string {
  const first = facts.users[0];
  const payer = first?.accountId ?? '<account ID>';
  const cli = 'npm run -s cellpay --';
  const lines = [
    '',
    `cellpay is up (embedded mode): gateway ${facts.gatewayAddress}, cells ${facts.cells.join(', ')}`,
    `credentials of the demo merchant and wallet backend: ${facts.credentialsFile} (mode 600)`,
    '',
    'demo wallets (1000.00 CNY each):',
    ...formatTable(
      ['user', 'cell', 'account', 'balance (minor)'],
      facts.users.map((user) => [user.userId, user.cellId, user.accountId, user.balanceMinor]),
    ).map((line) => `  ${line}`),
    '',
    'try it (in another terminal, same folder):',
    `  ${cli} pay --merchant ${facts.merchantId} --payer ${payer} --amount 12.34 --currency CNY --out-trade-no order-1`,
    `  ${cli} get-payment --merchant ${facts.merchantId} --out-trade-no order-1`,
    `  ${cli} refund --merchant ${facts.merchantId} --payment <payment ID> --amount 2.00 --currency CNY --out-refund-no refund-1`,
    `  ${cli} balance --merchant demo-wallet-backend --account ${payer}`,
    '',
    'with grpcurl (reflection is on; signed calls get their headers from the CLI):',
    `  grpcurl -plaintext ${facts.gatewayAddress} list`,
    `  eval "$(${cli} grpcurl --merchant ${facts.merchantId} Payments/GetPayment '{"outTradeNo":"order-1"}')"`,
    '',
    'Ctrl-C stops the platform (calls in flight are drained).',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
