import 'reflect-metadata';

import type { INestMicroservice } from '@nestjs/common';

import { MemoryCellStore } from '@cellpay/cell-data-access';
import { startCellGrpcServer } from '@cellpay/cell-server';
import { call, cellClients, type Client, freePort } from '@cellpay/cell-testing';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { createLogger } from '@cellpay/observability';
import { pollUntil } from '@cellpay/testing';

import { readCellConfig } from '../cell-config';
import { type CellObservability, startCellObservability } from './cell-observability';
import { GrpcMetricsInterceptor } from './grpc-metrics.interceptor';
import { TimedUnitOfWork } from './timed-unit-of-work';

describe('the cell ops port', () => {
  const logger = createLogger('cell-test', { level: 'silent' });
  let shardAnswers = true;
  let observability: CellObservability;
  let app: INestMicroservice;
  let accounts: Client;

  const get = async (path: string) => {
    const response = await fetch(`http://127.0.0.1:${observability.port}${path}`);
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    const config = readCellConfig({
      CELLPAY_STORE: 'memory',
      CELLPAY_OPS_PORT: '0',
      CELLPAY_CELL_ID: 'cell-7',
    });
    const unitOfWork = new MemoryCellStore();
    observability = await startCellObservability(
      config,
      {
        ping: async () => {
          if (!shardAnswers) throw new Error('connection refused');
        },
      },
      logger,
    );
    const port = await freePort();
    app = await startCellGrpcServer(
      {
        unitOfWork: new TimedUnitOfWork(unitOfWork, observability.metrics, 'cell-7'),
        clock: new ManualClock(),
        idGenerator: new SequenceIdGenerator('O'),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: 'cell-7', slotCount: 100 },
      },
      { port, logger, interceptors: [new GrpcMetricsInterceptor(observability.metrics, 'cell-7')] },
    );
    ({ accounts } = cellClients(`127.0.0.1:${port}`));
  });

  afterAll(async () => {
    accounts.close();
    await app.close();
    await observability.close();
  });

  it('is not ready until the gRPC server says so, then ready', async () => {
    expect((await get('/readyz')).status).toBe(503);
    observability.readiness.set('grpc', true, 'listening');
    expect(await get('/readyz')).toMatchObject({ status: 200 });
    expect((await get('/healthz')).status).toBe(200);
  });

  it('counts gRPC calls by method and status, and times shard transactions', async () => {
    await call(accounts, 'openAccount', {
      kind: 'user_wallet',
      ownerId: 'ops-user',
      currency: 'CNY',
    });
    await expect(
      call(accounts, 'openAccount', { kind: 'user_wallet', ownerId: 'ops-user', currency: 'XXX' }),
    ).rejects.toMatchObject({ code: 3 });

    const { body } = await get('/metrics');
    expect(body).toMatch(
      /cellpay_grpc_requests_total\{service="Account",method="openAccount",code="OK",cell="cell-7"\} 1/,
    );
    expect(body).toMatch(
      /cellpay_grpc_requests_total\{service="Account",method="openAccount",code="INVALID_ARGUMENT",cell="cell-7"\} 1/,
    );
    expect(body).toMatch(
      /cellpay_db_transaction_duration_seconds_count\{cell="cell-7",operation="[a-z._]+"\} [1-9]/,
    );
    expect(body).toMatch(/process_cpu_seconds_total/);
  });

  it('reports the shard not ready when its ping fails', async () => {
    shardAnswers = false;
    await pollUntil(async () => (await get('/readyz')).status === 503, {
      timeoutMs: 5_000,
      intervalMs: 50,
    });
    expect((await get('/readyz')).body).toContain('connection refused');
    shardAnswers = true;
  });
});
