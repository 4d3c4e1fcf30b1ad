import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { MigrationError, MigrationErrorCode } from './migration.exception';
import {
  awaitRoutingEpoch,
  opsRoutingEpochReader,
  type RoutingEpochReader,
} from './routing-epoch-readers';

/** A cell's ops port as far as the migration sees it: `/routing` answers the epoch it enforces. */
class FakeCellOps {
  epoch: bigint | undefined = 7n;
  asked = 0;
  private readonly server: Server;

  constructor(private readonly onAsk: (fake: FakeCellOps) => void = () => undefined) {
    this.server = createServer((request, response) => {
      if (request.url !== '/routing') {
        response.writeHead(404).end();
        return;
      }
      this.asked += 1;
      this.onAsk(this);
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ epoch: this.epoch?.toString() ?? null }));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function failureOf(work: Promise<unknown>): Promise<MigrationError> {
  try {
    await work;
  } catch (error) {
    if (error instanceof MigrationError) return error;
    throw error;
  }
  throw new Error('expected the wait to fail');
}

const limits = { followersWaitMsMax: 1_500, followersPollIntervalMs: 20 };

describe('waiting for the routing followers after a freeze', () => {
  const fakes: FakeCellOps[] = [];
  const fake = (onAsk?: (fake: FakeCellOps) => void): FakeCellOps => {
    const created = new FakeCellOps(onAsk);
    fakes.push(created);
    return created;
  };
  afterEach(async () => {
    for (const each of fakes.splice(0)) await each.close();
  });

  it('waits for a cell that lags until it reports the freeze epoch', async () => {
    // The lagging cell sees the freeze on its fifth answer; the other one has it already.
    const lagging = fake((self) => {
      if (self.asked >= 5) self.epoch = 8n;
    });
    const current = fake();
    current.epoch = 9n;
    const readers = [
      opsRoutingEpochReader('cell-1', await lagging.start()),
      opsRoutingEpochReader('cell-1 relay', await current.start()),
    ];
    const report = await awaitRoutingEpoch(readers, 8n, limits);
    expect(report.rounds).toBe(5);
    expect(lagging.asked).toBe(5);
    // A process that has reported the epoch is not asked again.
    expect(current.asked).toBe(1);
  });

  it('fails after the limit, naming the process that stayed behind and its epoch', async () => {
    const stuck = fake();
    const address = await stuck.start();
    const started = Date.now();
    const error = await failureOf(
      awaitRoutingEpoch([opsRoutingEpochReader('cell-1', address)], 8n, limits),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(limits.followersWaitMsMax);
    expect(error.code).toBe(MigrationErrorCode.RoutingFollowersBehind);
    expect(error.message).toContain(`cell-1 at ${address} enforces epoch 7`);
    expect(stuck.asked).toBeGreaterThan(10);
  });

  it('fails when a process cannot be asked, follows no table, or answers nonsense', async () => {
    const unfollowed = fake();
    unfollowed.epoch = undefined;
    const closed = fake();
    const closedAddress = await closed.start();
    await closed.close();
    fakes.splice(fakes.indexOf(closed), 1);
    const nonsense: RoutingEpochReader = {
      name: 'cell-1 relay',
      read: () => Promise.reject(new Error('/routing answered an unreadable epoch')),
    };
    const error = await failureOf(
      awaitRoutingEpoch(
        [
          opsRoutingEpochReader('cell-1', await unfollowed.start()),
          opsRoutingEpochReader('cell-1 old', closedAddress),
          nonsense,
        ],
        8n,
        { followersWaitMsMax: 0, followersPollIntervalMs: 20 },
      ),
    );
    expect(error.code).toBe(MigrationErrorCode.RoutingFollowersBehind);
    expect(error.message).toContain('follows no routing table');
    expect(error.message).toContain(`cell-1 old at ${closedAddress} cannot be asked`);
    expect(error.message).toContain(
      'cell-1 relay cannot be asked (/routing answered an unreadable',
    );
  });

  it('fails when nobody can be asked at all, and stops at the operator’s interrupt', async () => {
    expect((await failureOf(awaitRoutingEpoch([], 8n, limits))).code).toBe(
      MigrationErrorCode.RoutingFollowersBehind,
    );
    const stuck = fake();
    const interrupt = new AbortController();
    setTimeout(() => interrupt.abort(), 100);
    const error = await failureOf(
      awaitRoutingEpoch(
        [opsRoutingEpochReader('cell-1', await stuck.start())],
        8n,
        limits,
        interrupt.signal,
      ),
    );
    expect(error.code).toBe(MigrationErrorCode.AbortedByOperator);
  });
});
