import 'reflect-metadata';

import { EventEmitter } from 'node:events';

import { status } from '@grpc/grpc-js';
import type { CallHandler, ExecutionContext, INestMicroservice } from '@nestjs/common';
import { defer, lastValueFrom, Observable, of, throwError } from 'rxjs';

import { MemoryCellStore } from '@cellpay/cell-data-access';
import {
  type CellTransaction,
  ManualClock,
  SequenceIdGenerator,
  type UnitOfWork,
  type UnitOfWorkOptions,
} from '@cellpay/cell-domain';
import { call, cellClients, type Client, freePort, type GrpcError } from '@cellpay/cell-testing';
import {
  type CellpayMetrics,
  createCellpayMetrics,
  createLogger,
  createMetricsRegistry,
  currentRequestContext,
  requestContextMetadata,
  runInRequestContext,
} from '@cellpay/observability';
import { cellOverloadedReason, decodeErrorStatus } from '@cellpay/proto';
import { pollUntil } from '@cellpay/testing';

import { startCellGrpcServer } from '../cell-grpc-server';
import type { AdmissionLimits } from './admission-limiter';
import {
  admissionClassOf,
  AdmissionInterceptor,
  AdmissionRefusal,
  stressTrafficRejectedReason,
} from './admission.interceptor';
import { grpcErrorOf } from './cell-error.filter';

/** Holds every unit of work at a gate while it is shut, and counts those that reached it. */
class GatedUnitOfWork implements UnitOfWork {
  entered = 0;
  private gate: Promise<void> = Promise.resolve();
  private openGate: () => void = () => undefined;

  constructor(private readonly inner: UnitOfWork) {}

  shut(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  open(): void {
    this.openGate();
  }

  async run<T>(
    operation: string,
    work: (tx: CellTransaction) => Promise<T>,
    options?: UnitOfWorkOptions,
  ): Promise<T> {
    this.entered += 1;
    await this.gate;
    return this.inner.run(operation, work, options);
  }
}

function refusalOf(error: unknown): {
  code: number;
  reason: string;
  facts: Record<string, string>;
} {
  const grpcError = error as GrpcError;
  const details = grpcError.metadata.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(details)) throw new Error(`no error details on ${String(error)}`);
  const decoded = decodeErrorStatus(details);
  return { code: grpcError.code, reason: decoded.reason, facts: { ...decoded.metadata } };
}

async function refusal(pending: Promise<unknown>) {
  try {
    await pending;
  } catch (error) {
    return refusalOf(error);
  }
  throw new Error('the call was expected to be refused');
}

const stress = { [requestContextMetadata.stress]: '1' };

/** The value of one admission gauge or counter child of cell-1 (0 when it has none yet). */
async function admissionValue(
  metric: CellpayMetrics['admissionInFlight'] | CellpayMetrics['admissionRefusalsTotal'],
  labels: Record<string, string>,
): Promise<number> {
  const { values } = await metric.get();
  const wanted = { cell: 'cell-1', ...labels };
  const found = values.find((value) =>
    Object.entries(wanted).every(
      ([key, label]) =>
        (value.labels as Record<string, string | number | undefined>)[key] === label,
    ),
  );
  return found?.value ?? 0;
}

describe('admission control on the cell gRPC server', () => {
  const writes: AdmissionLimits = {
    inFlightMax: 1,
    queueLengthMax: 1,
    queueWaitMsMax: 300,
    deadlineRemainingMsMin: 20,
  };
  let app: INestMicroservice;
  let accounts: Client;
  let unitOfWork: GatedUnitOfWork;
  let stressRejected = false;
  const metrics = createCellpayMetrics(createMetricsRegistry({ defaultMetrics: false }));
  let fundingId = '';
  let walletId = '';
  let requestCount = 0;

  const topUp = (requestId: string, amountMinor: string, headers: Record<string, string> = {}) =>
    call(
      accounts,
      'topUp',
      {
        clientId: 'admission-test',
        requestId,
        fromAccountId: fundingId,
        toAccountId: walletId,
        amountMinor,
        currency: 'CNY',
      },
      headers,
    );
  const balance = async (): Promise<string> =>
    String((await call(accounts, 'getBalance', { accountId: walletId }))['balanceMinor']);

  beforeAll(async () => {
    const port = await freePort();
    unitOfWork = new GatedUnitOfWork(new MemoryCellStore());
    app = await startCellGrpcServer(
      {
        unitOfWork,
        clock: new ManualClock(),
        idGenerator: new SequenceIdGenerator('A'),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: 'cell-1', slotCount: 100 },
      },
      {
        port,
        host: '127.0.0.1',
        logger: createLogger('cell-test', { level: 'silent' }),
        admission: {
          settings: { writes, reads: { ...writes, inFlightMax: 4, queueLengthMax: 4 } },
          stressSwitch: { stressTrafficRejected: () => stressRejected },
          metrics: { registry: metrics, cellId: 'cell-1' },
        },
      },
    );
    ({ accounts } = cellClients(`127.0.0.1:${port}`));
    const funding = await call(accounts, 'openAccount', {
      kind: 'external_funding',
      ownerId: 'bank',
      currency: 'CNY',
    });
    const wallet = await call(accounts, 'openAccount', {
      kind: 'user_wallet',
      ownerId: 'admission-user',
      currency: 'CNY',
    });
    fundingId = String(funding['accountId']);
    walletId = String(wallet['accountId']);
  });
  afterAll(async () => {
    accounts.close();
    await app.close();
  });
  beforeEach(() => {
    requestCount += 1;
    stressRejected = false;
  });

  it('refuses writes over the bound at once with cell_overloaded and no effect; the admitted one succeeds', async () => {
    const before = await balance();
    unitOfWork.shut();
    const enteredBefore = unitOfWork.entered;
    const admitted = topUp(`admitted-${requestCount}`, '100');
    await pollUntil(() => unitOfWork.entered === enteredBefore + 1, {
      timeoutMs: 2_000,
      description: 'the first write holds the only turn',
    });
    const queued = topUp(`queued-${requestCount}`, '20');
    const startedAt = Date.now();
    const full = await refusal(topUp(`full-${requestCount}`, '3'));
    expect(Date.now() - startedAt).toBeLessThan(200);
    expect(full).toEqual({
      code: status.RESOURCE_EXHAUSTED,
      reason: cellOverloadedReason,
      facts: { cause: 'queue_full', retryAfterMs: '300' },
    });
    // A read has a bound of its own: writes at their bound do not refuse it.
    const read = balance();
    await pollUntil(() => unitOfWork.entered === enteredBefore + 2, {
      timeoutMs: 2_000,
      description: 'the read reached the store',
    });
    const waited = await refusal(queued);
    expect(waited).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      facts: { cause: 'queue_wait' },
    });
    // Neither refused write reached the store.
    expect(unitOfWork.entered).toBe(enteredBefore + 2);

    unitOfWork.open();
    await expect(admitted).resolves.toMatchObject({ amountMinor: '100' });
    expect(await read).toBe(before);
    expect(BigInt(await balance())).toBe(BigInt(before) + 100n);
    // Nothing was stored under the refused call's key: sent again, it runs for the first time.
    await expect(topUp(`full-${requestCount}`, '3')).resolves.toMatchObject({ amountMinor: '3' });
    expect(BigInt(await balance())).toBe(BigInt(before) + 103n);
    expect(await admissionValue(metrics.admissionInFlight, { class: 'write' })).toBe(0);
    expect(await admissionValue(metrics.admissionInFlight, { class: 'read' })).toBe(0);
    expect(await admissionValue(metrics.admissionQueueDepth, { class: 'write' })).toBe(0);
    for (const cause of ['queue_full', 'queue_wait']) {
      expect(await admissionValue(metrics.admissionRefusalsTotal, { class: 'write', cause })).toBe(
        1,
      );
    }
  });

  it('runs a queued stress call in its own request context, so it writes to the shadow tables', async () => {
    unitOfWork.shut();
    const enteredBefore = unitOfWork.entered;
    const live = topUp(`live-${requestCount}`, '1');
    await pollUntil(() => unitOfWork.entered === enteredBefore + 1, {
      timeoutMs: 2_000,
      description: 'the live write holds the only turn',
    });
    const queued = call(
      accounts,
      'openAccount',
      { kind: 'user_wallet', ownerId: 'queued-shadow-user', currency: 'CNY' },
      stress,
    );
    await pollUntil(
      async () => (await admissionValue(metrics.admissionQueueDepth, { class: 'write' })) === 1,
      {
        timeoutMs: 2_000,
        description: 'the stress call waits in the queue',
      },
    );
    unitOfWork.open();
    await live;
    const accountId = String((await queued)['accountId']);
    await expect(call(accounts, 'getBalance', { accountId })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    await expect(call(accounts, 'getBalance', { accountId }, stress)).resolves.toMatchObject({
      accountId,
    });
  });

  it('refuses stress calls while the switch is on, before any work, and lets live calls through', async () => {
    stressRejected = true;
    const enteredBefore = unitOfWork.entered;
    const openShadowWallet = () =>
      call(
        accounts,
        'openAccount',
        { kind: 'user_wallet', ownerId: `switch-user-${requestCount}`, currency: 'CNY' },
        stress,
      );
    const refused = await refusal(openShadowWallet());
    expect(refused).toEqual({
      code: status.UNAVAILABLE,
      reason: stressTrafficRejectedReason,
      facts: { cause: 'switch' },
    });
    expect(unitOfWork.entered).toBe(enteredBefore);
    expect(
      await admissionValue(metrics.admissionRefusalsTotal, {
        class: 'write',
        cause: stressTrafficRejectedReason,
      }),
    ).toBe(1);
    await expect(topUp(`live-${requestCount}`, '5')).resolves.toMatchObject({ amountMinor: '5' });

    stressRejected = false;
    await expect(openShadowWallet()).resolves.toMatchObject({ kind: 'user_wallet' });
  });
});

describe('AdmissionInterceptor', () => {
  const limits: AdmissionLimits = {
    inFlightMax: 1,
    queueLengthMax: 1,
    queueWaitMsMax: 1_000,
    deadlineRemainingMsMin: 0,
  };
  /** A gRPC server call as the interceptor sees it: a deadline and a `cancelled` event. */
  const grpcCall = (): EventEmitter & { getDeadline(): number } =>
    Object.assign(new EventEmitter(), { getDeadline: () => Infinity });
  const context = (handlerName = 'pay', serverCall = grpcCall()): ExecutionContext =>
    ({
      getHandler: () => ({ name: handlerName }),
      getArgByIndex: () => serverCall,
    }) as unknown as ExecutionContext;
  const handlerOf = (observable: Observable<unknown>): CallHandler => ({
    handle: () => observable,
  });
  let interceptor: AdmissionInterceptor;

  beforeEach(() => {
    interceptor = new AdmissionInterceptor({ settings: { writes: limits, reads: limits } });
  });

  it('gives the turn back when the handler fails, throws while starting, or answers', async () => {
    await expect(
      lastValueFrom(interceptor.intercept(context(), handlerOf(throwError(() => new Error('x'))))),
    ).rejects.toThrow('x');
    await expect(
      lastValueFrom(
        interceptor.intercept(
          context(),
          handlerOf(
            defer(() => {
              throw new Error('thrown while starting');
            }),
          ),
        ),
      ),
    ).rejects.toThrow('thrown while starting');
    await expect(
      lastValueFrom(interceptor.intercept(context(), handlerOf(of('ok')))),
    ).resolves.toBe('ok');
    expect(interceptor.limiters.write.inFlightCount).toBe(0);
  });

  it('leaves the queue and never runs the handler when the caller unsubscribes while waiting', async () => {
    const holding = interceptor.intercept(
      context(),
      handlerOf(new Observable<unknown>(() => undefined)),
    );
    const holder = holding.subscribe();
    let started = false;
    const waiting = interceptor
      .intercept(
        context(),
        handlerOf(
          defer(() => {
            started = true;
            return of('late');
          }),
        ),
      )
      .subscribe();
    expect(interceptor.limiters.write.queueDepth).toBe(1);
    waiting.unsubscribe();
    expect(interceptor.limiters.write.queueDepth).toBe(0);
    holder.unsubscribe();
    await Promise.resolve();
    expect(started).toBe(false);
    expect(interceptor.limiters.write.inFlightCount).toBe(0);
  });

  it('takes a waiting call out of the queue when its client cancels', async () => {
    const holder = interceptor
      .intercept(context(), handlerOf(new Observable<unknown>(() => undefined)))
      .subscribe();
    const cancelled = grpcCall();
    const waiting = lastValueFrom(
      interceptor.intercept(context('pay', cancelled), handlerOf(of('late'))),
    );
    expect(interceptor.limiters.write.queueDepth).toBe(1);
    cancelled.emit('cancelled');
    await expect(waiting).rejects.toMatchObject({
      reason: cellOverloadedReason,
      refusalCause: 'cancelled',
    });
    expect(interceptor.limiters.write.queueDepth).toBe(0);
    holder.unsubscribe();
    expect(interceptor.limiters.write.inFlightCount).toBe(0);
  });

  it('keeps separate bounds for reads and writes', () => {
    expect(admissionClassOf('getBalance')).toBe('read');
    expect(admissionClassOf('getPaymentByOutTradeNo')).toBe('read');
    expect(admissionClassOf('pay')).toBe('write');
    expect(admissionClassOf('reconcile')).toBe('write');
    expect(admissionClassOf('getaway')).toBe('write');
    const holder = interceptor
      .intercept(context('pay'), handlerOf(new Observable<unknown>(() => undefined)))
      .subscribe();
    expect(interceptor.limiters.write.inFlightCount).toBe(1);
    const read = interceptor
      .intercept(context('getBalance'), handlerOf(new Observable<unknown>(() => undefined)))
      .subscribe();
    expect(interceptor.limiters.read.inFlightCount).toBe(1);
    holder.unsubscribe();
    read.unsubscribe();
  });

  it('refuses stress calls under the switch by the request context, not by the limiter', async () => {
    const switched = new AdmissionInterceptor({
      settings: { writes: limits, reads: limits },
      stressSwitch: { stressTrafficRejected: () => true },
    });
    const refused = runInRequestContext({ requestId: 'r1', stress: true }, () =>
      lastValueFrom(switched.intercept(context(), handlerOf(of('ran')))),
    );
    await expect(refused).rejects.toBeInstanceOf(AdmissionRefusal);
    const live = runInRequestContext({ requestId: 'r2', stress: false }, () =>
      lastValueFrom(
        switched.intercept(context(), handlerOf(of(currentRequestContext()?.requestId))),
      ),
    );
    await expect(live).resolves.toBe('r2');
  });

  it('maps its refusals to a status and a reason the gateway and clients read', () => {
    const overloaded = grpcErrorOf(new AdmissionRefusal(cellOverloadedReason, 'deadline', 250));
    expect(overloaded.code).toBe(status.RESOURCE_EXHAUSTED);
    const details = overloaded.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(decodeErrorStatus(details)).toMatchObject({
      reason: cellOverloadedReason,
      metadata: { cause: 'deadline', retryAfterMs: '250' },
    });
    expect(grpcErrorOf(new AdmissionRefusal(stressTrafficRejectedReason, 'switch')).code).toBe(
      status.UNAVAILABLE,
    );
  });
});
