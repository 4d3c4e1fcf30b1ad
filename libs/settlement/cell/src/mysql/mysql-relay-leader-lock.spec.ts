import type { Pool } from 'mysql2/promise';

import { MysqlRelayLeaderLock } from './mysql-relay-leader-lock';

/**
 * A server's named locks as one connection sees them: GET_LOCK counts (as MariaDB does), so a
 * lock taken twice on one connection needs two releases.
 */
class FakeServer {
  readonly statements: string[] = [];
  connectionsOpened = 0;
  holder: number | undefined;
  holdCount = 0;
  failNext = false;

  pool(): Pool {
    return {
      getConnection: async () => {
        this.connectionsOpened += 1;
        return this.connection(this.connectionsOpened);
      },
    } as unknown as Pool;
  }

  private connection(id: number) {
    return {
      destroy: () => undefined,
      release: () => undefined,
      query: async (sql: string) => {
        // Each statement is a round trip: concurrent callers interleave here.
        await new Promise((resolve) => setImmediate(resolve));
        this.statements.push(sql);
        if (this.failNext) {
          this.failNext = false;
          throw Object.assign(new Error('Connection lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
        }
        if (sql.startsWith('SELECT IS_USED_LOCK')) return [[{ mine: this.holder === id ? 1 : 0 }]];
        if (sql.startsWith('SELECT GET_LOCK')) {
          if (this.holder !== undefined && this.holder !== id) return [[{ locked: 0 }]];
          this.holder = id;
          this.holdCount += 1;
          return [[{ locked: 1 }]];
        }
        if (sql.startsWith('SELECT RELEASE_LOCK')) {
          if (this.holder === id) this.holdCount -= 1;
          if (this.holdCount === 0) this.holder = undefined;
          return [[{ released: 1 }]];
        }
        throw new Error(`unexpected statement ${sql}`);
      },
    };
  }
}

describe('the relay leader lock', () => {
  it('answers concurrent checks with one connection and one GET_LOCK, so one release frees it', async () => {
    const server = new FakeServer();
    const lock = new MysqlRelayLeaderLock(server.pool(), 'cellpay_relay_cell_1');

    const answers = await Promise.all([lock.holds(), lock.holds(), lock.holds()]);

    expect(answers).toEqual([true, true, true]);
    expect(server.connectionsOpened).toBe(1);
    expect(server.statements.filter((sql) => sql.startsWith('SELECT GET_LOCK'))).toHaveLength(1);
    await lock.release();
    expect(server.holder).toBeUndefined();
  });

  it('keeps the lock across later checks without taking it again', async () => {
    const server = new FakeServer();
    const lock = new MysqlRelayLeaderLock(server.pool(), 'cellpay_relay_cell_1');

    expect(await lock.holds()).toBe(true);
    expect(await Promise.all([lock.holds(), lock.holds()])).toEqual([true, true]);

    expect(server.holdCount).toBe(1);
    expect(server.connectionsOpened).toBe(1);
  });

  it('answers false to every caller when the connection is lost, then takes a fresh one', async () => {
    const server = new FakeServer();
    const lock = new MysqlRelayLeaderLock(server.pool(), 'cellpay_relay_cell_1');
    server.failNext = true;

    expect(await Promise.all([lock.holds(), lock.holds()])).toEqual([false, false]);
    expect(await lock.holds()).toBe(true);

    expect(server.connectionsOpened).toBe(2);
  });

  it('lets a release called during a check finish after it, leaving the lock free', async () => {
    const server = new FakeServer();
    const lock = new MysqlRelayLeaderLock(server.pool(), 'cellpay_relay_cell_1');

    const checking = lock.holds();
    const releasing = lock.release();

    expect(await checking).toBe(true);
    await releasing;
    expect(server.holder).toBeUndefined();
    expect(await lock.holds()).toBe(true);
    expect(server.connectionsOpened).toBe(2);
  });

  it('refuses a lock name longer than MySQL allows', () => {
    expect(() => new MysqlRelayLeaderLock(new FakeServer().pool(), 'x'.repeat(65))).toThrow(
      /longer than 64/,
    );
  });
});
