import type { Pool, RowDataPacket } from 'mysql2/promise';

import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';
import { startDedicatedShardPair, type DedicatedShardPair } from '@cellpay/control-plane-testing';
import { pollUntil } from '@cellpay/testing';

import { formatGtidPosition, missingTransactionCount, parseGtidPosition } from '../gtid-position';
import { PrimaryMonitor } from '../primary-monitor';
import { ShardNode } from '../shard-node';
import { fenceAndRejoinReturningPrimary, unplannedFailover } from '../unplanned-failover';

// The application account has no READ ONLY ADMIN privilege, so read_only fences it.
const appUser = { user: 'tail_app', password: 'tail_app' };
const table = 'tail_probe.payments';
/** Commits left waiting for the replica's acknowledgement when the primary is killed. */
const blockedCommitsCount = 3;
/** Long enough that no blocked commit falls back to asynchronous replication during the test. */
const semiSyncTimeoutMs = 600_000;
const returnWaitMsMax = 120_000;

type Outcome = 'waiting' | 'acknowledged' | 'failed';

describe('unplanned failover when the dead primary wrote transactions it never acknowledged', () => {
  let installation: DedicatedShardPair;
  let primary: ShardNode;
  let replica: ShardNode;
  const pools: Pool[] = [];

  const pool = (endpoint: MysqlEndpoint, connectionsMax = 2): Pool => {
    const created = createMysqlPool(endpoint, {
      connectionsMax,
      queuedRequestsMax: 8,
      connectTimeoutMs: 2_000,
    });
    pools.push(created);
    return created;
  };
  const asApp = (endpoint: MysqlEndpoint): MysqlEndpoint => ({ ...endpoint, ...appUser });

  beforeAll(async () => {
    installation = startDedicatedShardPair(0);
    primary = new ShardNode(installation.primary);
    replica = new ShardNode(installation.replica);
    const admin = pool(installation.primary);
    await admin.query('CREATE DATABASE tail_probe');
    await admin.query(
      `CREATE TABLE ${table} (id INT NOT NULL PRIMARY KEY, note VARCHAR(40) NOT NULL) ENGINE=InnoDB`,
    );
    await admin.query(
      `CREATE USER '${appUser.user}'@'127.0.0.1' IDENTIFIED BY '${appUser.password}'`,
    );
    await admin.query(`GRANT SELECT, INSERT ON tail_probe.* TO '${appUser.user}'@'127.0.0.1'`);
    await admin.query(`SET GLOBAL rpl_semi_sync_master_timeout = ${semiSyncTimeoutMs}`);
  });

  afterAll(async () => {
    // Servers first: a pool with a commit still waiting for its acknowledgement never ends.
    installation?.stop();
    await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
    await Promise.all([primary?.close(), replica?.close()]);
  });

  it('promotes, records the tail, never acknowledged it to the client, and keeps the old primary fenced', async () => {
    const app = pool(asApp(installation.primary), blockedCommitsCount + 1);
    await app.query(`INSERT INTO ${table} (id, note) VALUES (1, 'acknowledged')`);
    await pollUntil(
      async () =>
        missingTransactionCount(await replica.currentPosition(), await primary.binlogPosition()) ===
        0n,
      { description: 'the replica applied the acknowledged commit', timeoutMs: 15_000 },
    );
    const monitor = new PrimaryMonitor(primary);
    const dead = monitor.watch(120_000);
    try {
      await pollUntil(() => monitor.lastObservation?.semiSync.sourceActive === true, {
        description: 'semi-sync observed active',
      });
      const noTxBefore = monitor.lastObservation?.semiSync.unacknowledgedCommits;

      // The replica stops receiving; each commit is written to the binlog, then waits for an
      // acknowledgement that cannot come (AFTER_SYNC), so its client never hears back.
      await pool(installation.replica).query('STOP SLAVE IO_THREAD');
      const receivedBefore = formatGtidPosition(await primary.binlogPosition());
      const outcomes: Outcome[] = Array.from({ length: blockedCommitsCount }, () => 'waiting');
      const commits = outcomes.map((_, index) =>
        app
          .query(`INSERT INTO ${table} (id, note) VALUES (?, 'never acknowledged')`, [100 + index])
          .then(
            () => {
              outcomes[index] = 'acknowledged';
            },
            () => {
              outcomes[index] = 'failed';
            },
          ),
      );
      // Concurrent commits reach the binlog one group at a time, and a group waits for the one
      // before it, so how many are written is up to the server: wait until it stops moving.
      let written = '';
      await pollUntil(
        async () => {
          const now = formatGtidPosition(await primary.binlogPosition());
          const stable = now === written && monitor.lastObservation?.gtidBinlogPosition === now;
          written = now;
          return stable && now !== receivedBefore;
        },
        {
          description: 'the blocked commits written to the binlog',
          timeoutMs: 15_000,
          intervalMs: 500,
        },
      );
      const tail = missingTransactionCount(
        parseGtidPosition(receivedBefore),
        parseGtidPosition(written),
      );
      expect(tail).toBeGreaterThanOrEqual(1n);
      expect(outcomes).toEqual(outcomes.map(() => 'waiting'));
      expect(monitor.lastObservation?.semiSync.sourceActive).toBe(true);
      expect(monitor.lastObservation?.semiSync.unacknowledgedCommits).toBe(noTxBefore);

      await installation.kill(installation.primary);
      const death = await dead;
      if (death === null) throw new Error('the monitor did not declare the primary dead');
      await Promise.all(commits);
      expect(outcomes).toEqual(outcomes.map(() => 'failed'));

      const report = await unplannedFailover(
        { primary, replica, replication: installation.replication },
        death,
      );
      console.log(
        `tail failover: ${JSON.stringify(report.unacknowledgedTail)}; ` +
          report.timeline.map((s) => `${s.step} ${s.durationMs} ms ${s.detail ?? ''}`).join(', '),
      );
      expect(report.after.primary.readOnly).toBe(false);
      expect(report.unacknowledgedTail?.transactionCount).toBe(Number(tail));
      expect(report.unacknowledgedTail?.primaryLastSeenPosition).toBe(written);
      expect(report.unacknowledgedTail?.replicaReceivedPosition).toBe(receivedBefore);
      expect(report.timeline.find((s) => s.step === 'check-acknowledged-data')?.detail).toBe(
        `${tail} unacknowledged transaction(s) left on the old primary ` +
          `(${report.unacknowledgedTail?.gtidRanges}); semi-sync stayed on, so no client was told ` +
          'they committed',
      );

      // The new primary has the acknowledged row, none of the tail, and takes writes.
      const promoted = pool(asApp(installation.replica));
      await promoted.query(`INSERT INTO ${table} (id, note) VALUES (2, 'after promotion')`);
      const [rows] = await promoted.query<RowDataPacket[]>(`SELECT id FROM ${table} ORDER BY id`);
      expect(rows.map((row) => Number(row['id']))).toEqual([1, 2]);

      // The old primary returns with the tail (crash recovery commits what its binlog holds): its
      // history diverges from the new primary's, so it stays fenced and is not attached.
      installation.restart(installation.primary);
      const rejoin = await fenceAndRejoinReturningPrimary(
        primary,
        replica,
        report.promotedAtPosition,
        installation.replication,
        returnWaitMsMax,
      );
      console.log(`returning primary: ${JSON.stringify({ ...rejoin, timeline: undefined })}`);
      expect(rejoin.outcome).toBe('diverged');
      expect(rejoin.errantTransactions).toBe(report.unacknowledgedTail?.gtidRanges);
      const facts = await primary.facts();
      expect(facts.readOnly).toBe(true);
      expect(facts.replica).toBeNull();
      const returned = pool(asApp(installation.primary));
      await expect(
        returned.query(`INSERT INTO ${table} (id, note) VALUES (3, 'to the old primary')`),
      ).rejects.toMatchObject({ code: 'ER_OPTION_PREVENTS_STATEMENT' });
    } finally {
      monitor.stop();
    }
  }, 300_000);
});
