import { randomBytes } from 'node:crypto';

import { Metadata, status } from '@grpc/grpc-js';

import {
  Authenticator,
  CellBreakers,
  cellBreakerDefaults,
  GatewayError,
} from '@cellpay/gateway-edge';
import { encodeErrorStatus } from '@cellpay/proto';
import { type CellRoute, evenlySpreadSnapshot, RoutingTable } from '@cellpay/routing';
import { protoJsonView, signatureHeaders, signRequest } from '@cellpay/signing';

import type { CellCall, CellTransport } from './cell-client';
import { GatewayService, isCellFailure } from './gateway.service';
import { createMemoryAuthenticatorPorts } from './memory-authenticator-ports';
import { publicOperations, requiredScopes } from './public-operations';

const secret = randomBytes(32);
const cells: CellRoute[] = ['cell-1', 'cell-2', 'cell-3'].map((cellId) => ({
  cellId,
  homeRegion: 'r',
  standbyRegion: 'r',
  activeRegion: 'r',
  state: 'active',
}));
const initial = new RoutingTable(evenlySpreadSnapshot(cells, 100));

/** A user ID with `prefix` the table places in `cellId`. */
function userIn(table: RoutingTable, cellId: string, prefix: string): string {
  for (let index = 0; index < 1_000; index++) {
    if (table.routeUser(`${prefix}-${index}`).cellId === cellId) return `${prefix}-${index}`;
  }
  throw new Error(`no user in ${cellId}`);
}

/** An ID of the given kind whose embedded slot the table gives to `cellId`. */
function idIn(table: RoutingTable, prefix: 'acc' | 'pay' | 'rfd', cellId: string): string {
  const slot = table.slotsOf(cellId)[0];
  if (slot === undefined) throw new Error(`${cellId} owns no slot`);
  return `${prefix}_${String(slot).padStart(4, '0')}ABCDEFGH1234`;
}

const merchantId = userIn(initial, 'cell-1', 'shop');

/** Records every cell call and answers with what the test scripted for it. */
class ScriptedTransport implements CellTransport {
  readonly calls: { cellId: string; call: CellCall }[] = [];
  constructor(
    private readonly answer: (
      cellId: string,
      call: CellCall,
      attempt: number,
    ) => Record<string, unknown>,
  ) {}

  async call(cellId: string, call: CellCall): Promise<Record<string, unknown>> {
    this.calls.push({ cellId, call });
    return this.answer(cellId, call, this.calls.length);
  }

  close(): void {
    this.calls.splice(0);
  }
}

function cellRefusal(code: status, reason: string): Error {
  const metadata = new Metadata();
  metadata.set('grpc-status-details-bin', encodeErrorStatus(code, reason, reason));
  return Object.assign(new Error(reason), { code, details: reason, metadata });
}

function headersFor(keyId: string, path: string, request: object): Record<string, string> {
  const timestampMs = Date.now();
  const nonce = randomBytes(16).toString('base64url');
  return {
    [signatureHeaders.keyId]: keyId,
    [signatureHeaders.timestamp]: String(timestampMs),
    [signatureHeaders.nonce]: nonce,
    [signatureHeaders.signature]: signRequest(secret, {
      method: path,
      keyId,
      timestampMs,
      nonce,
      body: protoJsonView(request),
    }),
  };
}

describe('the gateway routes money that crosses cells', () => {
  let routing: { table: RoutingTable; current(): RoutingTable };
  let breakers: CellBreakers;

  beforeEach(() => {
    routing = {
      table: initial,
      current() {
        return this.table;
      },
    };
    breakers = new CellBreakers({ ...cellBreakerDefaults, isCellFailure });
  });
  afterEach(() => breakers.shutdown());

  const gateway = (transport: CellTransport): GatewayService =>
    new GatewayService({
      authenticator: new Authenticator(
        createMemoryAuthenticatorPorts({
          credentials: [
            {
              keyId: 'key_merchant',
              ownerId: merchantId,
              ownerKind: 'merchant',
              scopes: new Set(['pay', 'refund', 'read']),
              ratePerSecond: 1_000,
              burst: 1_000,
              secret,
            },
            {
              keyId: 'key_wallets',
              ownerId: 'wallet-app',
              ownerKind: 'first_party',
              scopes: new Set(['wallet']),
              ratePerSecond: 1_000,
              burst: 1_000,
              secret,
            },
          ],
        }),
        requiredScopes,
      ),
      routing,
      transport,
      breakers,
      sleep: async () => undefined,
    });
  const send = (
    service: GatewayService,
    path: string,
    request: Record<string, unknown>,
  ): Promise<object> => {
    const operation = publicOperations.get(path);
    if (operation === undefined) throw new Error(`no operation ${path}`);
    const keyId = operation.service === 'Wallets' ? 'key_wallets' : 'key_merchant';
    return service.handle(path, operation, request, headersFor(keyId, path, request));
  };
  const payment = (settlementState: string) => ({
    payment: { paymentId: 'pay_0001ABCDEFGH1234', status: 'captured', amountMinor: '100' },
    settlementState,
  });
  const payRequest = (payerAccountId: string) => ({
    outTradeNo: 'order-1',
    payerAccountId,
    amount: { amountMinor: '100', currency: 'CNY' },
  });
  const pay = '/cellpay.v1.Payments/Pay';

  it('pays inside the cell when the payer lives with the merchant', async () => {
    const transport = new ScriptedTransport(() => ({ paymentId: 'pay_0001ABCDEFGH1234' }));
    const result = await send(gateway(transport), pay, payRequest(idIn(initial, 'acc', 'cell-1')));
    expect(transport.calls).toEqual([
      expect.objectContaining({
        cellId: 'cell-1',
        call: expect.objectContaining({ service: 'PaymentService', method: 'pay' }),
      }),
    ]);
    expect(result).toMatchObject({ settlementState: 'local' });
  });

  it("pays across cells through the payer's cell when the merchant lives elsewhere", async () => {
    const transport = new ScriptedTransport(() => payment('settling'));
    const result = await send(gateway(transport), pay, payRequest(idIn(initial, 'acc', 'cell-2')));
    expect(transport.calls).toHaveLength(1);
    expect(transport.calls[0]).toMatchObject({
      cellId: 'cell-2',
      call: {
        service: 'SettlementService',
        method: 'payCrossCell',
        request: { merchantId, amountMinor: '100', currency: 'CNY' },
      },
    });
    expect(result).toMatchObject({
      paymentId: 'pay_0001ABCDEFGH1234',
      status: 'captured',
      settlementState: 'settling',
    });
  });

  it('refreshes its table and retries once when the cell says the payee is in that cell', async () => {
    const payer = idIn(initial, 'acc', 'cell-2');
    // The merchant moved to cell-2 (a newer epoch) before the gateway heard of it.
    const moved = new RoutingTable({
      ...initial.snapshot,
      epoch: initial.epoch + 1n,
      overrides: [{ userId: merchantId, cellId: 'cell-2' }],
    });
    const transport = new ScriptedTransport((_cellId, _call, attempt) => {
      if (attempt === 1) {
        routing.table = moved;
        throw cellRefusal(status.UNAVAILABLE, 'payee_in_this_cell');
      }
      return { paymentId: 'pay_0001ABCDEFGH1234' };
    });
    const result = await send(gateway(transport), pay, payRequest(payer));
    expect(transport.calls.map(({ cellId, call }) => [cellId, call.service, call.method])).toEqual([
      ['cell-2', 'SettlementService', 'payCrossCell'],
      ['cell-2', 'PaymentService', 'pay'],
    ]);
    expect(result).toMatchObject({ settlementState: 'local' });
  });

  it('answers routing_stale when the cell disagrees about the payee twice', async () => {
    const transport = new ScriptedTransport(() => {
      throw cellRefusal(status.UNAVAILABLE, 'payee_in_this_cell');
    });
    const refused = await send(
      gateway(transport),
      pay,
      payRequest(idIn(initial, 'acc', 'cell-3')),
    ).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect(refused).toMatchObject({ code: 'routing_stale' });
    expect(transport.calls).toHaveLength(2);
  });

  it('refuses a cross-cell authorization before any cell is called', async () => {
    const transport = new ScriptedTransport(() => ({}));
    const refused = await send(gateway(transport), '/cellpay.v1.Payments/Authorize', {
      ...payRequest(idIn(initial, 'acc', 'cell-3')),
      ttlSeconds: 60,
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'cross_cell_authorization_not_supported' });
    expect(transport.calls).toHaveLength(0);
  });

  it.each([
    ['cell-2', 'AccountService', 'transferMoney', 'local'],
    ['cell-3', 'SettlementService', 'transferCrossCell', 'settling'],
  ])(
    'sends a transfer to a wallet in %s through %s.%s',
    async (receiverCell, service, method, state) => {
      const transport = new ScriptedTransport(() =>
        service === 'SettlementService'
          ? { transfer: { transferId: 'trf_0001ABCDEFGH1234' }, settlementState: 'settling' }
          : { transferId: 'trf_0001ABCDEFGH1234' },
      );
      const result = await send(gateway(transport), '/cellpay.v1.Wallets/Transfer', {
        requestId: 'r-1',
        fromAccountId: idIn(initial, 'acc', 'cell-2'),
        toAccountId: idIn(initial, 'acc', receiverCell),
        amount: { amountMinor: '5', currency: 'CNY' },
      });
      expect(transport.calls[0]).toMatchObject({ cellId: 'cell-2', call: { service, method } });
      expect(result).toMatchObject({ transferId: 'trf_0001ABCDEFGH1234', settlementState: state });
    },
  );

  it.each([
    [
      '/cellpay.v1.Payments/Refund',
      { paymentId: idIn(initial, 'pay', 'cell-3'), outRefundNo: 'r-1', amountMinor: '5' },
      'refundPayment',
    ],
    ['/cellpay.v1.Payments/GetRefund', { refundId: idIn(initial, 'rfd', 'cell-3') }, 'getRefund'],
    [
      '/cellpay.v1.Payments/GetPayment',
      { paymentId: idIn(initial, 'pay', 'cell-3') },
      'getPayment',
    ],
  ])(
    "routes %s to the SettlementService of the ID's cell, which knows local from cross-cell",
    async (path, request, method) => {
      const transport = new ScriptedTransport(() =>
        method === 'getPayment'
          ? payment('settled')
          : {
              refund: { refundId: 'rfd_0001ABCDEFGH1234', payment: {} },
              status: 'failed',
              failureReason: 'insufficient_funds',
              paymentSettlementState: 'settled',
            },
      );
      const result = await send(gateway(transport), path, request);
      expect(transport.calls[0]).toMatchObject({
        cellId: 'cell-3',
        call: { service: 'SettlementService', method, request: { merchantId } },
      });
      expect(result).toMatchObject(
        method === 'getPayment'
          ? { settlementState: 'settled' }
          : {
              status: 'failed',
              failureReason: 'insufficient_funds',
              payment: { settlementState: 'settled' },
            },
      );
    },
  );

  it('refuses a GetRefund whose ID is not a refund ID, without calling a cell', async () => {
    const transport = new ScriptedTransport(() => ({}));
    const refused = await send(gateway(transport), '/cellpay.v1.Payments/GetRefund', {
      refundId: idIn(initial, 'pay', 'cell-1'),
    }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'malformed_id' });
    expect(transport.calls).toHaveLength(0);
  });
});
