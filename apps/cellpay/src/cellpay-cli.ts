import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

import { Command } from 'commander';

import { formatDecimal, type Money, parseCurrency, parseDecimal } from '@cellpay/money';
import type { publicV1 } from '@cellpay/proto';
import { CellpayClient, CellpayError, formatTable } from '@cellpay/sdk';
import { protoJsonView } from '@cellpay/signing';

/** Where the CLI writes; tests pass their own. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

interface Profile {
  readonly address: string;
  readonly keyId: string;
  readonly secret: Buffer;
}

/**
 * A credential profile: `--merchant <name>` picks one from the credentials file that `npm start`
 * writes (CELLPAY_CREDENTIALS_FILE), or CELLPAY_KEY_ID + CELLPAY_SECRET_HEX + CELLPAY_ADDRESS
 * name one directly. Secrets are read from files or the environment, never from arguments.
 */
export function loadProfile(
  name: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Profile {
  if (env['CELLPAY_KEY_ID'] && env['CELLPAY_SECRET_HEX']) {
    return {
      address: env['CELLPAY_ADDRESS'] ?? '127.0.0.1:50051',
      keyId: env['CELLPAY_KEY_ID'],
      secret: Buffer.from(env['CELLPAY_SECRET_HEX'], 'hex'),
    };
  }
  const file = env['CELLPAY_CREDENTIALS_FILE'] ?? 'tmp/cellpay-demo-credentials.json';
  let parsed: { address: string; profiles: Record<string, { keyId: string; secretHex: string }> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as typeof parsed;
  } catch {
    throw new Error(
      `no credentials: set CELLPAY_KEY_ID and CELLPAY_SECRET_HEX, or run npm start (writes ${file})`,
    );
  }
  const profile = name === undefined ? undefined : parsed.profiles[name];
  if (profile === undefined) {
    throw new Error(
      `--merchant must name a profile of ${file}: ${Object.keys(parsed.profiles).join(', ')}`,
    );
  }
  return {
    address: env['CELLPAY_ADDRESS'] ?? parsed.address,
    keyId: profile.keyId,
    secret: Buffer.from(profile.secretHex, 'hex'),
  };
}

function amountOption(amount: string, currency: string): Money {
  return parseDecimal(amount, parseCurrency(currency));
}

function paymentRows(payment: publicV1.Payment): string[] {
  const currency = parseCurrency(payment.currency);
  const decimal = (minor: string): string =>
    formatDecimal({ amountMinor: BigInt(minor), currency });
  return formatTable(
    ['field', 'value'],
    [
      ['payment_id', payment.paymentId],
      ['out_trade_no', payment.outTradeNo],
      ['status', payment.status],
      ['amount', `${decimal(payment.amountMinor)} ${payment.currency}`],
      ['captured', `${decimal(payment.capturedMinor)} ${payment.currency}`],
      ['refunded', `${decimal(payment.refundedMinor)} ${payment.currency}`],
      ['payer', payment.payerAccountId],
      ['payee', payment.payeeAccountId],
      // Cross-cell payments only: settling until the merchant's cell has credited the merchant.
      ...(payment.settlementState === '' ? [] : [['settlement', payment.settlementState]]),
      ['created_at', payment.createdAt],
    ],
  );
}

function refundRows(refund: publicV1.PaymentRefund): string[] {
  return [
    ...formatTable(
      ['refund_id', 'out_refund_no', 'amount (minor)', 'currency', 'status', 'failure_reason'],
      [
        [
          refund.refundId,
          refund.outRefundNo,
          refund.amountMinor,
          refund.currency,
          refund.status,
          refund.failureReason === '' ? '-' : refund.failureReason,
        ],
      ],
    ),
    '',
    ...(refund.payment === undefined ? [] : paymentRows(refund.payment)),
  ];
}

function accountRows(account: publicV1.Account): string[] {
  const currency = parseCurrency(account.currency);
  const decimal = (minor: string): string =>
    formatDecimal({ amountMinor: BigInt(minor), currency });
  return formatTable(
    ['account', 'owner', 'currency', 'balance', 'held', 'available'],
    [
      [
        account.accountId,
        account.ownerId,
        account.currency,
        decimal(account.balanceMinor),
        decimal(account.heldMinor),
        decimal(account.availableMinor),
      ],
    ],
  );
}

const generatedKey = (prefix: string): string => `${prefix}-${randomBytes(6).toString('hex')}`;

/** The `cellpay` command line on top of the SDK; output as tables. */
export function buildCli(
  output: CliOutput,
  env: Readonly<Record<string, string | undefined>>,
): Command {
  const program = new Command('cellpay')
    .description('cellpay merchant and wallet CLI (signs every request with your credential)')
    .showHelpAfterError()
    .exitOverride();
  const withClient = async (
    merchant: string | undefined,
    work: (client: CellpayClient) => Promise<string[]>,
  ): Promise<void> => {
    const profile = loadProfile(merchant, env);
    const client = new CellpayClient(profile);
    try {
      output.out((await work(client)).join('\n'));
    } catch (error) {
      if (error instanceof CellpayError) {
        output.err(`refused: ${error.codeName} ${error.reason}: ${error.message}`);
        process.exitCode = 1;
        return;
      }
      throw error;
    } finally {
      client.close();
    }
  };
  const merchantOption = ['--merchant <profile>', 'credential profile (see npm start)'] as const;

  program
    .command('pay')
    .description('charge a wallet in one step')
    .option(...merchantOption)
    .requiredOption('--payer <account>', "payer's wallet account ID")
    .requiredOption('--amount <decimal>', 'amount, e.g. 12.34')
    .requiredOption('--currency <code>', 'ISO 4217 code')
    .option('--out-trade-no <key>', 'your order number (idempotency key); generated if absent')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        paymentRows(
          await client.pay({
            outTradeNo: options['outTradeNo'] ?? generatedKey('order'),
            payerAccountId: options['payer'] ?? '',
            amount: amountOption(options['amount'] ?? '', options['currency'] ?? ''),
          }),
        ),
      ),
    );

  program
    .command('authorize')
    .description('freeze funds for a later capture')
    .option(...merchantOption)
    .requiredOption('--payer <account>', "payer's wallet account ID")
    .requiredOption('--amount <decimal>', 'amount, e.g. 12.34')
    .requiredOption('--currency <code>', 'ISO 4217 code')
    .option('--ttl-seconds <n>', 'how long the hold lives', '900')
    .option('--out-trade-no <key>', 'your order number (idempotency key); generated if absent')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        paymentRows(
          await client.authorize({
            outTradeNo: options['outTradeNo'] ?? generatedKey('order'),
            payerAccountId: options['payer'] ?? '',
            amount: amountOption(options['amount'] ?? '', options['currency'] ?? ''),
            ttlSeconds: Number(options['ttlSeconds']),
          }),
        ),
      ),
    );

  program
    .command('capture')
    .description('capture an authorized payment')
    .option(...merchantOption)
    .requiredOption('--payment <id>', 'payment ID')
    .requiredOption('--amount <decimal>', 'amount to capture')
    .requiredOption('--currency <code>', 'the payment currency')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        paymentRows(
          await client.capture({
            paymentId: options['payment'] ?? '',
            amountMinor: amountOption(options['amount'] ?? '', options['currency'] ?? '')
              .amountMinor,
          }),
        ),
      ),
    );

  program
    .command('void')
    .description('release an authorized payment')
    .option(...merchantOption)
    .requiredOption('--payment <id>', 'payment ID')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        paymentRows(await client.void({ paymentId: options['payment'] ?? '' })),
      ),
    );

  program
    .command('refund')
    .description('refund a captured payment')
    .option(...merchantOption)
    .requiredOption('--payment <id>', 'payment ID')
    .requiredOption('--amount <decimal>', 'amount to refund')
    .requiredOption('--currency <code>', 'the payment currency')
    .option('--out-refund-no <key>', 'your refund number (idempotency key); generated if absent')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) => {
        const refund = await client.refund({
          paymentId: options['payment'] ?? '',
          outRefundNo: options['outRefundNo'] ?? generatedKey('refund'),
          amountMinor: amountOption(options['amount'] ?? '', options['currency'] ?? '').amountMinor,
        });
        return refundRows(refund);
      }),
    );

  program
    .command('get-refund')
    .description('read a refund by its ID (a cross-cell refund is pending until settled)')
    .option(...merchantOption)
    .requiredOption('--refund <id>', 'refund ID')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        refundRows(await client.getRefund({ refundId: options['refund'] ?? '' })),
      ),
    );

  program
    .command('get-payment')
    .description('read a payment by its ID or by your order number')
    .option(...merchantOption)
    .option('--payment <id>', 'payment ID')
    .option('--out-trade-no <key>', 'your order number')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        paymentRows(
          await client.getPayment(
            options['payment'] !== undefined
              ? { paymentId: options['payment'] }
              : { outTradeNo: options['outTradeNo'] ?? '' },
          ),
        ),
      ),
    );

  program
    .command('open-account')
    .description('open (or find) a user wallet')
    .option(...merchantOption)
    .requiredOption('--user <id>', 'user ID')
    .requiredOption('--currency <code>', 'ISO 4217 code')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        accountRows(
          await client.openAccount({
            userId: options['user'] ?? '',
            currency: options['currency'] ?? '',
          }),
        ),
      ),
    );

  program
    .command('top-up')
    .description('fund a wallet from the cell funding account (wallet scope)')
    .option(...merchantOption)
    .requiredOption('--account <id>', 'account ID')
    .requiredOption('--amount <decimal>', 'amount, e.g. 100.00')
    .requiredOption('--currency <code>', 'ISO 4217 code')
    .option('--request-id <key>', 'idempotency key; generated if absent')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) => {
        const transfer = await client.topUp({
          requestId: options['requestId'] ?? generatedKey('top-up'),
          accountId: options['account'] ?? '',
          amount: amountOption(options['amount'] ?? '', options['currency'] ?? ''),
        });
        return formatTable(
          ['transfer_id', 'to', 'amount (minor)', 'currency'],
          [
            [
              transfer.transferId,
              transfer.toAccountId,
              transfer.amount?.amountMinor ?? '',
              transfer.amount?.currency ?? '',
            ],
          ],
        );
      }),
    );

  program
    .command('balance')
    .description("read an account's balance")
    .option(...merchantOption)
    .requiredOption('--account <id>', 'account ID')
    .action(async (options: Record<string, string>) =>
      withClient(options['merchant'], async (client) =>
        accountRows(await client.getBalance({ accountId: options['account'] ?? '' })),
      ),
    );

  program
    .command('grpcurl')
    .description('print a signed grpcurl command for one call (valid for five minutes, once)')
    .option(...merchantOption)
    .argument('<method>', 'Service/Method, e.g. Payments/GetPayment')
    .argument('<json>', 'the request in proto3 JSON (camelCase)')
    .action((method: string, json: string, options: Record<string, string>) => {
      const profile = loadProfile(options['merchant'], env);
      const client = new CellpayClient(profile);
      try {
        const request = JSON.parse(json) as object;
        const metadata = client.sign(`/cellpay.v1.${method}`, request);
        const headers = Object.entries(metadata.getMap())
          .map(([key, value]) => `-H '${key}: ${String(value)}'`)
          .join(' ');
        const body = JSON.stringify(protoJsonView(request) ?? {});
        output.out(
          `grpcurl -plaintext ${headers} -d '${body}' ${profile.address} cellpay.v1.${method}`,
        );
      } finally {
        client.close();
      }
    });
  return program;
}
