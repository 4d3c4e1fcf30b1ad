import 'reflect-metadata';

import { randomBytes } from 'node:crypto';

import {
  credentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
  status,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import { createLogger } from '@cellpay/observability';
import { decodeErrorStatus, publicProtoPath } from '@cellpay/proto';
import { RoutingTable, slotOf } from '@cellpay/routing';
import { CellpayClient, CellpayError } from '@cellpay/sdk';
import { signatureHeaders } from '@cellpay/signing';
import { pollUntil } from '@cellpay/testing';

import { type DemoUser, seedDemo } from './demo-seed';
import {
  demoMerchantId,
  type DemoCredential,
  type EmbeddedPlatform,
  startEmbeddedPlatform,
} from './embedded-platform';
import { refusalOf } from './refusal.test-helper';

const logger = createLogger('platform-test', { level: 'silent' });
const cny = (amountMinor: bigint) => ({ amountMinor, currency: 'CNY' as const });

function clientFor(platform: EmbeddedPlatform, credential: DemoCredential, retriesMax = 0) {
  return new CellpayClient({
    address: platform.gatewayAddress,
    keyId: credential.keyId,
    secret: Buffer.from(credential.secretHex, 'hex'),
    retriesMax,
  });
}

type RawCall = (
  request: object,
  metadata: Metadata,
  callback: (error: ServiceError | null, response: unknown) => void,
) => void;

/** A raw public client, for requests the SDK would never send (tampered, replayed, unsigned). */
function rawPayments(address: string): Record<string, RawCall> & { close(): void } {
  const root = loadPackageDefinition(
    loadSync(publicProtoPath, { keepCase: false, longs: String, defaults: true }),
  );
  const v1 = (root['cellpay'] as GrpcObject)['v1'] as GrpcObject;
  const constructor = v1['Payments'] as ServiceClientConstructor;
  return new constructor(address, credentials.createInsecure()) as unknown as Record<
    string,
    RawCall
  > & { close(): void };
}

function rawCall(
  client: Record<string, RawCall>,
  method: string,
  request: object,
  metadata: Metadata,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const handler = client[method];
    if (handler === undefined) throw new Error(`no method ${method}`);
    handler.call(client, request, metadata, (error, response) =>
      error ? reject(error) : resolve(response),
    );
  });
}

function reasonOf(error: unknown): { code: number; reason: string } {
  const serviceError = error as ServiceError;
  const details = serviceError.metadata.get('grpc-status-details-bin')[0] as Buffer;
  return { code: serviceError.code, reason: decodeErrorStatus(details).reason };
}

describe('the gateway in front of three cells (embedded platform)', () => {
  let platform: EmbeddedPlatform;
  let users: readonly DemoUser[];
  let merchant: CellpayClient;
  let wallets: CellpayClient;
  let merchantCredential: DemoCredential;

  const userIn = (cellId: string, index = 0): DemoUser => {
    const found = users.filter((user) => user.cellId === cellId)[index];
    if (found === undefined) throw new Error(`no demo user ${index} in ${cellId}`);
    return found;
  };
  const balanceOf = async (accountId: string): Promise<string> =>
    (await wallets.getBalance({ accountId })).balanceMinor;

  beforeAll(async () => {
    platform = await startEmbeddedPlatform({
      cellCount: 3,
      slotCount: 100,
      gatewayPort: 0,
      host: '127.0.0.1',
      logger,
      breaker: { volumeThreshold: 3, resetTimeoutMs: 500, rollingWindowMs: 5_000 },
      cellCallDeadlineMs: 1_000,
      separateGatewayRouting: true,
    });
    users = await seedDemo(platform);
    const found = platform.credentials.find((credential) => credential.ownerId === demoMerchantId);
    if (found === undefined) throw new Error('no demo merchant');
    merchantCredential = found;
    merchant = clientFor(platform, merchantCredential);
    const backend = platform.credentials.find((credential) => credential.scopes.includes('wallet'));
    if (backend === undefined) throw new Error('no wallet backend');
    wallets = clientFor(platform, backend);
  });

  afterAll(async () => {
    merchant.close();
    wallets.close();
    await platform.close();
  });

  describe('end to end with the SDK', () => {
    it('pays, queries by both IDs, refunds, and the balances follow', async () => {
      // The demo merchant lives in cell-1: a payer there pays it inside the cell.
      const payer = userIn('cell-1');
      const before = BigInt(await balanceOf(payer.accountId));
      const payment = await merchant.pay({
        outTradeNo: 'e2e-pay-1',
        payerAccountId: payer.accountId,
        amount: cny(1_234n),
      });
      expect(payment).toMatchObject({ status: 'captured', amountMinor: '1234', currency: 'CNY' });
      expect(payment.paymentId).toMatch(/^pay_\d{4}/);
      // The payment ID embeds the payer's slot.
      expect(Number(payment.paymentId.slice(4, 8))).toBe(slotOf(payer.userId, 100));
      expect(payment.settlementState).toBe('local');
      await expect(merchant.getPayment({ paymentId: payment.paymentId })).resolves.toMatchObject({
        outTradeNo: 'e2e-pay-1',
        settlementState: 'local',
      });
      await expect(merchant.getPayment({ outTradeNo: 'e2e-pay-1' })).resolves.toMatchObject({
        paymentId: payment.paymentId,
      });
      const refund = await merchant.refund({
        paymentId: payment.paymentId,
        outRefundNo: 'e2e-refund-1',
        amountMinor: 234n,
      });
      expect(refund.refundId).toMatch(/^rfd_\d{4}/);
      expect(refund).toMatchObject({ status: 'succeeded', outRefundNo: 'e2e-refund-1' });
      expect(refund.payment).toMatchObject({ refundedMinor: '234', status: 'partly_refunded' });
      await expect(merchant.getRefund({ refundId: refund.refundId })).resolves.toMatchObject({
        status: 'succeeded',
        amountMinor: '234',
        outRefundNo: 'e2e-refund-1',
        payment: { settlementState: 'local', refundedMinor: '234' },
      });
      expect(BigInt(await balanceOf(payer.accountId))).toBe(before - 1_000n);
    });

    it('pays a merchant of another cell: settling, then settled through the in-process bus', async () => {
      const payer = userIn('cell-2');
      const before = BigInt(await balanceOf(payer.accountId));
      const payment = await merchant.pay({
        outTradeNo: 'e2e-cross-1',
        payerAccountId: payer.accountId,
        amount: cny(2_000n),
      });
      expect(payment).toMatchObject({ status: 'captured', amountMinor: '2000' });
      expect(['settling', 'settled']).toContain(payment.settlementState);
      await pollUntil(
        async () =>
          (await merchant.getPayment({ outTradeNo: 'e2e-cross-1' })).settlementState === 'settled'
            ? true
            : undefined,
        { timeoutMs: 5_000, description: 'the cross-cell payment settles' },
      );
      const refund = await merchant.refund({
        paymentId: payment.paymentId,
        outRefundNo: 'e2e-cross-refund-1',
        amountMinor: 500n,
      });
      expect(['pending', 'succeeded']).toContain(refund.status);
      const done = await pollUntil(
        async () => {
          const seen = await merchant.getRefund({ refundId: refund.refundId });
          return seen.status === 'pending' ? undefined : seen;
        },
        { timeoutMs: 5_000, description: 'the cross-cell refund ends' },
      );
      expect(done).toMatchObject({
        status: 'succeeded',
        outRefundNo: 'e2e-cross-refund-1',
        payment: { refundedMinor: '500', settlementState: 'settled' },
      });
      expect(BigInt(await balanceOf(payer.accountId))).toBe(before - 1_500n);
    });

    it('refuses to authorize across cells, without effect', async () => {
      const payer = userIn('cell-3');
      const before = await wallets.getBalance({ accountId: payer.accountId });
      const refused = await refusalOf(
        merchant.authorize({
          outTradeNo: 'e2e-auth-cross-1',
          payerAccountId: payer.accountId,
          amount: cny(5_000n),
          ttlSeconds: 600,
        }),
      );
      expect(refused).toMatchObject({
        code: status.FAILED_PRECONDITION,
        reason: 'cross_cell_authorization_not_supported',
      });
      await expect(wallets.getBalance({ accountId: payer.accountId })).resolves.toEqual(before);
      expect(
        await refusalOf(merchant.getPayment({ outTradeNo: 'e2e-auth-cross-1' })),
      ).toMatchObject({ code: status.NOT_FOUND, reason: 'payment_not_found' });
    });

    it('authorizes, captures in part, and replays a retried capture without a second effect', async () => {
      const payer = userIn('cell-1', 1);
      const before = BigInt(await balanceOf(payer.accountId));
      const authorized = await merchant.authorize({
        outTradeNo: 'e2e-auth-1',
        payerAccountId: payer.accountId,
        amount: cny(5_000n),
        ttlSeconds: 600,
      });
      expect(authorized.status).toBe('authorized');
      const captured = await merchant.capture({
        paymentId: authorized.paymentId,
        amountMinor: 3_000n,
      });
      expect(captured).toMatchObject({ capturedMinor: '3000' });
      const again = await merchant.capture({
        paymentId: authorized.paymentId,
        amountMinor: 3_000n,
      });
      expect(again).toMatchObject({ capturedMinor: '3000' });
      expect(BigInt(await balanceOf(payer.accountId))).toBe(before - 3_000n);
    });

    it('voids an authorization and the funds are available again', async () => {
      const payer = userIn('cell-1');
      const authorized = await merchant.authorize({
        outTradeNo: 'e2e-void-1',
        payerAccountId: payer.accountId,
        amount: cny(700n),
        ttlSeconds: 600,
      });
      const voided = await merchant.void({ paymentId: authorized.paymentId });
      expect(voided.status).toBe('voided');
      const account = await wallets.getBalance({ accountId: payer.accountId });
      expect(account.heldMinor).toBe('0');
    });

    it('repeats a payment for the same out_trade_no and refuses it with a different amount', async () => {
      const payer = userIn('cell-1');
      const first = await merchant.pay({
        outTradeNo: 'e2e-idem-1',
        payerAccountId: payer.accountId,
        amount: cny(100n),
      });
      const repeat = await merchant.pay({
        outTradeNo: 'e2e-idem-1',
        payerAccountId: payer.accountId,
        amount: cny(100n),
      });
      expect(repeat.paymentId).toBe(first.paymentId);
      const refused = await refusalOf(
        merchant.pay({
          outTradeNo: 'e2e-idem-1',
          payerAccountId: payer.accountId,
          amount: cny(101n),
        }),
      );
      expect(refused).toMatchObject({
        code: status.ALREADY_EXISTS,
        reason: 'idempotency_key_reused_with_different_request',
      });
    });

    it('transfers within a cell, pages the statement, and settles a cross-cell transfer', async () => {
      const owner = userIn('cell-1');
      const sameCell = await wallets.transfer({
        requestId: 'xfer-same-1',
        fromAccountId: owner.accountId,
        toAccountId: userIn('cell-1', 1).accountId,
        amount: cny(1n),
      });
      expect(sameCell.transferId).toMatch(/^trf_/);
      const page = await wallets.listStatement({ accountId: owner.accountId, pageSize: 1 });
      expect(page.lines).toHaveLength(1);
      expect(page.lines[0]).toMatchObject({ journalKind: 'transfer', direction: 'debit' });
      const next = await wallets.listStatement({
        accountId: owner.accountId,
        pageSize: 1,
        cursor: page.nextCursor,
      });
      expect(next.lines).toHaveLength(1);
      expect(sameCell.settlementState).toBe('local');
      const before = BigInt(await balanceOf(owner.accountId));
      const receiver = userIn('cell-2', 1);
      const receiverBefore = BigInt(await balanceOf(receiver.accountId));
      const crossCell = await wallets.transfer({
        requestId: 'xfer-cross-1',
        fromAccountId: owner.accountId,
        toAccountId: receiver.accountId,
        amount: cny(7n),
      });
      expect(crossCell).toMatchObject({ kind: 'transfer', toAccountId: receiver.accountId });
      expect(['settling', 'settled']).toContain(crossCell.settlementState);
      expect(BigInt(await balanceOf(owner.accountId))).toBe(before - 7n);
      await pollUntil(
        async () =>
          BigInt(await balanceOf(receiver.accountId)) === receiverBefore + 7n ? true : undefined,
        { timeoutMs: 5_000, description: 'the receiver in cell-2 is credited' },
      );
    });
  });

  describe('security: each case refused with its status and without effect', () => {
    let payments: ReturnType<typeof rawPayments>;
    let payer: DemoUser;
    let balanceBefore: string;
    const request = (outTradeNo: string) => ({
      outTradeNo,
      payerAccountId: payer.accountId,
      amount: { amountMinor: '500', currency: 'CNY' },
    });

    beforeAll(() => {
      payments = rawPayments(platform.gatewayAddress);
      payer = userIn('cell-2', 1);
    });
    afterAll(() => payments.close());
    beforeEach(async () => {
      balanceBefore = await balanceOf(payer.accountId);
    });
    afterEach(async () => {
      expect(await balanceOf(payer.accountId)).toBe(balanceBefore);
    });

    it('refuses a signature made with the wrong secret', async () => {
      const forger = new CellpayClient({
        address: platform.gatewayAddress,
        keyId: merchantCredential.keyId,
        secret: randomBytes(32),
        retriesMax: 0,
      });
      try {
        const refused = await refusalOf(forger.pay({ ...request('sec-1'), amount: cny(500n) }));
        expect(refused).toMatchObject({
          code: status.UNAUTHENTICATED,
          reason: 'signature_mismatch',
        });
      } finally {
        forger.close();
      }
    });

    it('refuses a tampered body', async () => {
      const signed = merchant.sign('/cellpay.v1.Payments/Pay', request('sec-2'));
      const tampered = { ...request('sec-2'), amount: { amountMinor: '50000', currency: 'CNY' } };
      const error = await rawCall(payments, 'pay', tampered, signed).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(error)).toEqual({
        code: status.UNAUTHENTICATED,
        reason: 'signature_mismatch',
      });
    });

    it('refuses a timestamp older than five minutes', async () => {
      const stale = merchant.sign(
        '/cellpay.v1.Payments/Pay',
        request('sec-3'),
        Date.now() - 301_000,
      );
      const error = await rawCall(payments, 'pay', request('sec-3'), stale).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(error)).toEqual({
        code: status.UNAUTHENTICATED,
        reason: 'timestamp_outside_window',
      });
    });

    it('refuses a replayed nonce', async () => {
      const lookup = { outTradeNo: 'never-paid' };
      const signed = merchant.sign('/cellpay.v1.Payments/GetPayment', lookup);
      const first = await rawCall(payments, 'getPayment', lookup, signed).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(first).code).toBe(status.NOT_FOUND);
      const replay = await rawCall(payments, 'getPayment', lookup, signed).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(replay)).toEqual({ code: status.UNAUTHENTICATED, reason: 'nonce_reused' });
    });

    it('refuses an unknown key and an unsigned request', async () => {
      const signed = merchant.sign('/cellpay.v1.Payments/Pay', request('sec-5'));
      signed.set(signatureHeaders.keyId, 'key_000000000000000000000000');
      const unknown = await rawCall(payments, 'pay', request('sec-5'), signed).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(unknown)).toEqual({
        code: status.UNAUTHENTICATED,
        reason: 'credential_unknown',
      });
      const unsigned = await rawCall(payments, 'pay', request('sec-5'), new Metadata()).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(unsigned)).toEqual({
        code: status.UNAUTHENTICATED,
        reason: 'signature_missing',
      });
    });

    it('refuses a method outside the credential scopes', async () => {
      const readOnly = clientFor(platform, platform.addCredential(demoMerchantId, ['read']));
      try {
        const refused = await refusalOf(readOnly.pay({ ...request('sec-6'), amount: cny(500n) }));
        expect(refused).toMatchObject({ code: status.PERMISSION_DENIED, reason: 'scope_missing' });
      } finally {
        readOnly.close();
      }
    });

    it("refuses another merchant's payment for every method that takes an object ID", async () => {
      const owned = await merchant.authorize({
        outTradeNo: 'sec-owned-1',
        payerAccountId: userIn('cell-1', 1).accountId,
        amount: cny(300n),
        ttlSeconds: 600,
      });
      const paid = await merchant.pay({
        outTradeNo: 'sec-owned-2',
        payerAccountId: userIn('cell-3', 1).accountId,
        amount: cny(300n),
      });
      const localRefund = await merchant.refund({
        paymentId: (
          await merchant.pay({
            outTradeNo: 'sec-owned-3',
            payerAccountId: userIn('cell-1', 1).accountId,
            amount: cny(300n),
          })
        ).paymentId,
        outRefundNo: 'sec-refund-3',
        amountMinor: 100n,
      });
      const rival = clientFor(
        platform,
        platform.addCredential('rival-merchant', ['pay', 'refund', 'read']),
      );
      try {
        const attempts: [string, () => Promise<unknown>][] = [
          ['GetPayment by ID', () => rival.getPayment({ paymentId: paid.paymentId })],
          ['GetPayment by out_trade_no', () => rival.getPayment({ outTradeNo: 'sec-owned-2' })],
          ['Capture', () => rival.capture({ paymentId: owned.paymentId, amountMinor: 300n })],
          ['Void', () => rival.void({ paymentId: owned.paymentId })],
          [
            'Refund',
            () =>
              rival.refund({
                paymentId: paid.paymentId,
                outRefundNo: 'steal-1',
                amountMinor: 300n,
              }),
          ],
        ];
        for (const [name, attempt] of attempts) {
          const refused = await refusalOf(attempt());
          expect({ name, code: refused.code, reason: refused.reason }).toEqual({
            name,
            code: status.NOT_FOUND,
            reason: 'payment_not_found',
          });
        }
        const refundLookup = await refusalOf(rival.getRefund({ refundId: localRefund.refundId }));
        expect(refundLookup).toMatchObject({ code: status.NOT_FOUND, reason: 'refund_not_found' });
        await expect(merchant.getRefund({ refundId: localRefund.refundId })).resolves.toMatchObject(
          { status: 'succeeded', amountMinor: '100' },
        );
        await expect(merchant.getPayment({ paymentId: owned.paymentId })).resolves.toMatchObject({
          status: 'authorized',
          capturedMinor: '0',
        });
        await expect(merchant.getPayment({ paymentId: paid.paymentId })).resolves.toMatchObject({
          refundedMinor: '0',
        });
      } finally {
        rival.close();
      }
    });

    it('refuses stress traffic from a credential without the stress scope', async () => {
      const signed = merchant.sign('/cellpay.v1.Payments/Pay', request('sec-8'));
      signed.set('x-cellpay-stress', '1');
      const error = await rawCall(payments, 'pay', request('sec-8'), signed).catch(
        (caught: unknown) => caught,
      );
      expect(reasonOf(error)).toEqual({
        code: status.PERMISSION_DENIED,
        reason: 'stress_traffic_not_allowed',
      });
    });
  });

  describe('a routing change while traffic runs', () => {
    it('never lets the old owner apply a request routed after the slot moved', async () => {
      const mover = userIn('cell-1');
      const slot = slotOf(mover.userId, 100);
      const before = platform.routing.current();
      const moved = new RoutingTable({
        ...before.snapshot,
        epoch: before.epoch + 1n,
        slots: before.snapshot.slots.map((route) =>
          route.slot === slot ? { ...route, cellId: 'cell-2' } : route,
        ),
      });
      const issuedAfterFlip: string[] = [];
      let cellsFlipped = false;
      const traffic = (async () => {
        const outcomes: string[] = [];
        for (let index = 0; index < 40; index++) {
          const outTradeNo = `move-${index}`;
          if (cellsFlipped) issuedAfterFlip.push(outTradeNo);
          try {
            await merchant.pay({
              outTradeNo,
              payerAccountId: mover.accountId,
              amount: cny(1n),
            });
            outcomes.push('ok');
          } catch (error) {
            outcomes.push(error instanceof CellpayError ? error.reason : String(error));
          }
        }
        return outcomes;
      })();
      // The cells learn the move first; the gateway lags behind by a moment, as a follower would.
      await new Promise((resolve) => setTimeout(resolve, 30));
      platform.routing.install(moved);
      cellsFlipped = true;
      await new Promise((resolve) => setTimeout(resolve, 200));
      platform.gatewayRouting.install(moved);
      const outcomes = await traffic;
      expect(issuedAfterFlip.length).toBeGreaterThan(0);
      // Nothing was copied to cell-2 in this test, so after the move the payer is unknown there.
      expect(outcomes.slice(-1)).toEqual(['account_not_found']);
      for (const outTradeNo of issuedAfterFlip) {
        const found = await platform.transport
          .call('cell-1', {
            service: 'PaymentService',
            method: 'getPaymentByOutTradeNo',
            request: { merchantId: demoMerchantId, outTradeNo },
            metadata: {},
            deadlineMs: 1_000,
          })
          .catch((error: ServiceError) => error.code);
        expect({ outTradeNo, found }).toEqual({ outTradeNo, found: status.NOT_FOUND });
      }
    });
  });

  describe('a dead cell', () => {
    it('fails fast for its users, leaves the others alone, and recovers after it returns', async () => {
      const victim = userIn('cell-3');
      const bystander = userIn('cell-2');
      await platform.killCell('cell-3');
      try {
        // Failures open the breaker once they are half of the rolling window's calls.
        for (let index = 0; index < 30 && platform.breakers.state('cell-3') !== 'open'; index++) {
          const refused = await refusalOf(wallets.getBalance({ accountId: victim.accountId }));
          expect(refused.code).toBe(status.UNAVAILABLE);
        }
        expect(platform.breakers.state('cell-3')).toBe('open');
        const startedAt = performance.now();
        const refused = await refusalOf(wallets.getBalance({ accountId: victim.accountId }));
        const failFastMs = performance.now() - startedAt;
        expect(refused).toMatchObject({ code: status.UNAVAILABLE, reason: 'cell_unavailable' });
        expect(refused.facts).toMatchObject({ cell: 'cell-3', cause: 'breaker_open' });
        expect(failFastMs).toBeLessThan(100);
        const bystanderStartedAt = performance.now();
        await wallets.getBalance({ accountId: bystander.accountId });
        expect(performance.now() - bystanderStartedAt).toBeLessThan(200);
      } finally {
        await platform.reviveCell('cell-3');
      }
      // After the reset timeout one trial call goes through and closes the breaker.
      const deadline = Date.now() + 5_000;
      let balance: string | undefined;
      while (balance === undefined && Date.now() < deadline) {
        balance = await wallets
          .getBalance({ accountId: victim.accountId })
          .then((account) => account.balanceMinor)
          .catch(() => undefined);
        if (balance === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(balance).toBeDefined();
      expect(platform.breakers.state('cell-3')).toBe('closed');
    });
  });
});
