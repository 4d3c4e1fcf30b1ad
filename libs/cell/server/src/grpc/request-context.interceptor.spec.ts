import 'reflect-metadata';

import { status } from '@grpc/grpc-js';
import type { INestMicroservice } from '@nestjs/common';

import { MemoryCellStore } from '@cellpay/cell-data-access';
import { ManualClock, SequenceIdGenerator } from '@cellpay/cell-domain';
import { call, cellClients, type Client, freePort } from '@cellpay/cell-testing';
import { createLogger, requestContextMetadata } from '@cellpay/observability';

import { startCellGrpcServer } from '../cell-grpc-server';

describe('the request context of cell calls', () => {
  let app: INestMicroservice;
  let accounts: Client;
  let accounting: Client;
  const lines: Record<string, unknown>[] = [];
  const stress = {
    [requestContextMetadata.requestId]: 'req-stress-1',
    [requestContextMetadata.stress]: '1',
  };

  beforeAll(async () => {
    const port = await freePort();
    const logger = createLogger('cell', {
      level: 'debug',
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    });
    app = await startCellGrpcServer(
      {
        unitOfWork: new MemoryCellStore(),
        clock: new ManualClock(),
        idGenerator: new SequenceIdGenerator('X'),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: 'cell-1', slotCount: 100 },
      },
      { port, logger, host: '127.0.0.1' },
    );
    ({ accounts, accounting } = cellClients(`127.0.0.1:${port}`));
  });
  afterAll(async () => {
    for (const client of [accounts, accounting]) client.close();
    await app.close();
  });

  it('writes stress calls to the shadow store only, and live calls never see them', async () => {
    const opened = await call(
      accounts,
      'openAccount',
      { kind: 'user_wallet', ownerId: 'shadow-user', currency: 'CNY' },
      stress,
    );
    const accountId = String(opened['accountId']);
    await expect(call(accounts, 'getBalance', { accountId })).rejects.toMatchObject({
      code: status.NOT_FOUND,
    });
    await expect(call(accounts, 'getBalance', { accountId }, stress)).resolves.toMatchObject({
      accountId,
    });
    const liveReport = await call(accounting, 'reconcile', {});
    expect(liveReport).toMatchObject({ clean: true, accountsChecked: 0 });
    const shadowReport = await call(accounting, 'reconcile', {}, stress);
    expect(shadowReport).toMatchObject({ clean: true, accountsChecked: 1 });
  });

  it('logs each call with the request ID and stress mark it came with', async () => {
    lines.length = 0;
    await call(accounting, 'reconcile', {}, { [requestContextMetadata.requestId]: 'req-live-7' });
    await call(accounting, 'reconcile', {}, stress);
    await call(accounting, 'reconcile', {});
    const callLines = lines.filter((line) => line['msg'] === 'cell call');
    expect(callLines[0]).toMatchObject({ requestId: 'req-live-7', method: 'reconcile' });
    expect(callLines[0]).not.toHaveProperty('stress');
    expect(callLines[1]).toMatchObject({ requestId: 'req-stress-1', stress: true });
    // A call without an ID (an operator's tool) gets a fresh one.
    expect(String(callLines[2]?.['requestId'])).toMatch(/^req-[0-9a-f-]{36}$/);
  });

  it('refuses a malformed stress mark or request ID with no effect', async () => {
    const malformed: Record<string, string>[] = [
      { [requestContextMetadata.stress]: 'yes' },
      { [requestContextMetadata.requestId]: 'bad id with spaces' },
      { [requestContextMetadata.requestId]: 'r'.repeat(129) },
    ];
    for (const headers of malformed) {
      await expect(
        call(
          accounts,
          'openAccount',
          { kind: 'user_wallet', ownerId: 'refused-user', currency: 'CNY' },
          headers,
        ),
      ).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    }
    // Nothing was opened in either table set: both reconcile over the one shadow account only.
    expect(await call(accounting, 'reconcile', {})).toMatchObject({ accountsChecked: 0 });
    expect(await call(accounting, 'reconcile', {}, stress)).toMatchObject({ accountsChecked: 1 });
  });
});
