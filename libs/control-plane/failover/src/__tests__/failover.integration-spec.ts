import type { Pool } from 'mysql2/promise';

import { createMysqlPool, type MysqlEndpoint } from '@cellpay/connections';
import { pollUntil } from '@cellpay/testing';

import { FailoverErrorCode, FailoverException } from '../failover.exception';
import type { FailoverReport } from '../failover-report';
import { gtidHistoryIsPrefixOf, missingGtidRanges, parseGtidPosition } from '../gtid-position';
import { plannedFailover, type ShardPair } from '../planned-failover';
import { PrimaryMonitor } from '../primary-monitor';
import { ShardNode, type ShardNodeEndpoint } from '../shard-node';
import { fenceAndRejoinReturningPrimary, unplannedFailover } from '../unplanned-failover';
import { startDedicatedShardPair, type DedicatedShardPair } from '@cellpay/control-plane-testing';
import { WriteLoad, writeLoadTable, type WriteLoadLimits } from './write-load';

// The application account has no SUPER / READ_ONLY ADMIN privilege, so read_only fences it.
const appUser = { user: 'failover_app', password: 'failover_app' };
const loadLimits: WriteLoadLimits = {
  writersCount: 4,
  writesPerWriterMax: 2_000,
  durationMsMax: 90_000,
  retryDelayMs: 20,
};
const acknowledgedBeforeOperation = 40;
const acknowledgedAfterOperation = 40;
// Crash recovery of the killed server is slow on a busy two-core machine.
const returnWaitMsMax = 120_000;

describe('shard failover against a dedicated MariaDB pair', () => {
  let installation: DedicatedShardPair;
  // The two servers keep their names; the roles move between them.
  let nodes: { primary: ShardNode; replica: ShardNode };
  const openPools: Pool[] = [];
  const monitors: PrimaryMonitor[] = [];

  const asApp = (node: ShardNodeEndpoint): MysqlEndpoint => ({ ...node, ...appUser });
  const adminPool = (node: ShardNodeEndpoint): Pool => {
    const pool = createMysqlPool(node, {
      connectionsMax: 2,
      queuedRequestsMax: 4,
      connectTimeoutMs: 2_000,
    });
    openPools.push(pool);
    return pool;
  };
  const pair = (): ShardPair => ({ ...nodes, replication: installation.replication });
  const swapRoles = () => {
    nodes = { primary: nodes.replica, replica: nodes.primary };
  };
  const printReport = (title: string, report: FailoverReport, load?: WriteLoad) => {
    const steps = report.timeline.map(
      (s) => `  ${s.step.padEnd(28)} ${String(s.durationMs).padStart(6)} ms ${s.outcome}`,
    );
    const errors = load === undefined ? '' : JSON.stringify(Object.fromEntries(load.errorsByCode));
    console.log(
      [
        `${title}: ${report.from} -> ${report.to}`,
        ...steps,
        `  write unavailability (engine): ${report.writeUnavailableMs} ms`,
        load === undefined
          ? ''
          : `  longest client gap: ${load.longestUnavailableMs} ms, acknowledged ${load.acknowledged.size}, errors ${errors}`,
        `  GTID before ${report.before.primary?.gtidBinlogPosition ?? '-'} promoted at ${report.promotedAtPosition}`,
      ].join('\n'),
    );
  };

  /** Runs `operation` while the write load runs, switching the load's target in afterPromote. */
  async function underLoad(
    operation: (retarget: () => Promise<void>) => Promise<FailoverReport>,
  ): Promise<{ report: FailoverReport; load: WriteLoad }> {
    let target = asApp(nodes.primary.endpoint);
    const next = asApp(nodes.replica.endpoint);
    const load = new WriteLoad(() => target, loadLimits);
    load.start();
    try {
      await pollUntil(() => load.acknowledged.size >= acknowledgedBeforeOperation, {
        description: 'writes acknowledged before the operation',
        timeoutMs: 30_000,
      });
      const report = await operation(async () => {
        target = next;
      });
      const reached = load.acknowledged.size;
      await pollUntil(() => load.acknowledged.size >= reached + acknowledgedAfterOperation, {
        description: 'writes acknowledged by the new primary',
        timeoutMs: 30_000,
      });
      return { report, load };
    } finally {
      await load.stop();
    }
  }

  beforeAll(() => {
    installation = startDedicatedShardPair(0);
    nodes = {
      primary: new ShardNode(installation.primary),
      replica: new ShardNode(installation.replica),
    };
  });

  beforeAll(async () => {
    const primary = adminPool(installation.primary);
    await primary.query('CREATE DATABASE failover_probe');
    await primary.query(
      `CREATE TABLE ${writeLoadTable} (writer INT NOT NULL, sequence INT NOT NULL,
         PRIMARY KEY (writer, sequence)) ENGINE=InnoDB`,
    );
    await primary.query(
      `CREATE USER '${appUser.user}'@'127.0.0.1' IDENTIFIED BY '${appUser.password}'`,
    );
    await primary.query(
      `GRANT SELECT, INSERT, UPDATE, DELETE ON failover_probe.* TO '${appUser.user}'@'127.0.0.1'`,
    );
  });

  afterAll(async () => {
    for (const monitor of monitors) monitor.stop();
    await Promise.all(openPools.map((pool) => pool.end()));
    await Promise.all([nodes?.primary.close(), nodes?.replica.close()]);
    installation?.stop();
  });

  async function expectWriteRefused(node: ShardNodeEndpoint): Promise<void> {
    const pool = createMysqlPool(asApp(node), {
      connectionsMax: 1,
      queuedRequestsMax: 1,
      connectTimeoutMs: 2_000,
    });
    try {
      await expect(
        pool.query(`INSERT INTO ${writeLoadTable} (writer, sequence) VALUES (999, 1)`),
      ).rejects.toMatchObject({ code: 'ER_OPTION_PREVENTS_STATEMENT' });
    } finally {
      await pool.end();
    }
  }

  async function expectReplicating(replica: ShardNode, from: ShardNode): Promise<void> {
    const facts = await pollUntil(
      async () => {
        const f = await replica.facts();
        return f.replica?.ioThreadRunning === true && f.replica.sqlThreadRunning ? f : undefined;
      },
      { description: `${replica.name} replicating`, timeoutMs: 15_000 },
    );
    expect(facts.readOnly).toBe(true);
    expect(facts.replica?.sourcePort).toBe(from.endpoint.port);
  }

  it('fails over as planned under a write load without losing an acknowledged write, then fails back', async () => {
    for (const title of ['planned failover', 'failback']) {
      const { report, load } = await underLoad((retarget) =>
        plannedFailover(pair(), { afterPromote: retarget }),
      );
      printReport(title, report, load);
      swapRoles();
      expect(await load.missingOn(adminPool(nodes.primary.endpoint))).toEqual([]);
      expect(report.semiSyncEstablished).toBe(true);
      expect(report.timeline.every((step) => step.outcome === 'done')).toBe(true);
      expect(report.writeUnavailableMs).toBeLessThan(5_000);
      await expectReplicating(nodes.replica, nodes.primary);
      await expectWriteRefused(nodes.replica.endpoint);
    }
  });

  it('promotes the replica when the primary is killed, fences the returning primary and rejoins it', async () => {
    const monitor = new PrimaryMonitor(nodes.primary);
    monitors.push(monitor);
    const dead = monitor.watch(120_000);
    const killed = nodes.primary;
    const { report, load } = await underLoad(async (retarget) => {
      await pollUntil(() => monitor.lastObservation !== null, { description: 'first observation' });
      await installation.kill(killed.endpoint);
      const death = await dead;
      if (death === null) throw new Error('the monitor did not declare the primary dead');
      console.log(
        `detected: ${death.declaredDeadAt.getTime() - (death.lastAliveAt?.getTime() ?? 0)} ms after the last good probe`,
      );
      return unplannedFailover(pair(), death, {}, { afterPromote: retarget });
    });
    printReport('unplanned failover', report, load);
    swapRoles();
    expect(await load.missingOn(adminPool(nodes.primary.endpoint))).toEqual([]);
    expect(report.writeUnavailableMs).toBeLessThan(30_000);

    installation.restart(killed.endpoint);
    const rejoin = await fenceAndRejoinReturningPrimary(
      nodes.replica,
      nodes.primary,
      report.promotedAtPosition,
      installation.replication,
      returnWaitMsMax,
    );
    console.log(
      `rejoin: ${JSON.stringify({ ...rejoin, timeline: rejoin.timeline.map((s) => `${s.step} ${s.durationMs} ms`) })}; ` +
        `unacknowledged tail in the report: ${JSON.stringify(report.unacknowledgedTail)}`,
    );
    // Under load the kill often leaves commits in the old primary's binlog that waited for their
    // acknowledgement (never acknowledged, see missingOn above); then its history has diverged and
    // it must stay fenced instead of rejoining.
    const returning = parseGtidPosition(rejoin.returningPosition);
    const promotedAt = parseGtidPosition(report.promotedAtPosition);
    const tailLeftBehind = !gtidHistoryIsPrefixOf(returning, promotedAt);
    if (report.unacknowledgedTail !== null) expect(tailLeftBehind).toBe(true);
    await expectWriteRefused(nodes.replica.endpoint);
    if (tailLeftBehind) {
      expect(rejoin.outcome).toBe('diverged');
      expect(rejoin.errantTransactions).toBe(missingGtidRanges(promotedAt, returning));
      expect((await nodes.replica.facts()).replica).toBeNull();
    } else {
      expect(rejoin.outcome).toBe('rejoined');
      await expectReplicating(nodes.replica, nodes.primary);
      expect((await nodes.primary.semiSyncStatus()).clients).toBe(1);
    }
  }, 240_000);

  it('rejoins a returning primary when nothing was written on the new primary since promotion', async () => {
    // The case that once stalled: with no write after promotion, the returning server's
    // gtid_slave_pos never moves past its own transactions; the rejoin must wait on
    // gtid_current_pos instead. No load here, so the new primary writes nothing before the rejoin.
    // Its own pair: the first one's old primary may have come back diverged from the test above
    // (an unacknowledged tail) and stays out of that pair.
    const quiet = startDedicatedShardPair(1);
    const quietNodes = {
      primary: new ShardNode(quiet.primary),
      replica: new ShardNode(quiet.replica),
    };
    const monitor = new PrimaryMonitor(quietNodes.primary);
    monitors.push(monitor);
    try {
      const dead = monitor.watch(120_000);
      await pollUntil(() => monitor.lastObservation !== null, { description: 'first observation' });
      await quiet.kill(quiet.primary);
      const death = await dead;
      if (death === null) throw new Error('the monitor did not declare the primary dead');
      const report = await unplannedFailover(
        { ...quietNodes, replication: quiet.replication },
        death,
      );
      quiet.restart(quiet.primary);
      const rejoin = await fenceAndRejoinReturningPrimary(
        quietNodes.primary,
        quietNodes.replica,
        report.promotedAtPosition,
        quiet.replication,
        returnWaitMsMax,
      );
      console.log(
        `quiet rejoin: ${rejoin.outcome}, ${rejoin.timeline.map((s) => `${s.step} ${s.durationMs} ms`).join(', ')}`,
      );
      expect(report.unacknowledgedTail).toBeNull();
      expect(rejoin.outcome).toBe('rejoined');
      // This pair has no application account; read_only is what fences one.
      await expectReplicating(quietNodes.primary, quietNodes.replica);
    } finally {
      monitor.stop();
      await Promise.all([quietNodes.primary.close(), quietNodes.replica.close()]);
      quiet.stop();
    }
  }, 240_000);

  it('refuses to promote a replica that missed commits after semi-sync fell back to async, unless forced', async () => {
    // Its own pair: the first one lost its old primary to the kill above.
    const second = startDedicatedShardPair(1);
    const nodes = {
      primary: new ShardNode(second.primary),
      replica: new ShardNode(second.replica),
    };
    const pair = (): ShardPair => ({ ...nodes, replication: second.replication });
    try {
      const primaryPool = adminPool(nodes.primary.endpoint);
      const replicaPool = adminPool(nodes.replica.endpoint);
      await primaryPool.query('CREATE DATABASE failover_probe');
      await primaryPool.query(
        `CREATE TABLE ${writeLoadTable} (writer INT NOT NULL, sequence INT NOT NULL,
         PRIMARY KEY (writer, sequence)) ENGINE=InnoDB`,
      );
      // A short acknowledgement timeout, so the fallback to async happens within a second.
      await primaryPool.query('SET GLOBAL rpl_semi_sync_master_timeout = 500');
      const monitor = new PrimaryMonitor(nodes.primary);
      monitors.push(monitor);
      const dead = monitor.watch(60_000);
      await pollUntil(() => monitor.lastObservation?.semiSync.sourceActive === true, {
        description: 'semi-sync observed active',
      });
      await replicaPool.query('STOP SLAVE IO_THREAD');
      await primaryPool.query(`INSERT INTO ${writeLoadTable} (writer, sequence) VALUES (777, 1)`);
      await pollUntil(() => monitor.lastObservation?.semiSync.sourceActive === false, {
        description: 'the fallback to async observed',
      });
      await second.kill(nodes.primary.endpoint);
      const death = await dead;
      if (death === null) throw new Error('the monitor did not declare the primary dead');
      await replicaPool.query('START SLAVE IO_THREAD');

      const refusal = unplannedFailover(pair(), death);
      await expect(refusal).rejects.toBeInstanceOf(FailoverException);
      const error = (await refusal.catch((e: unknown) => e)) as FailoverException;
      console.log(`refusal: ${error.message}\n  facts: ${JSON.stringify(error.facts)}`);
      expect(error.code).toBe(FailoverErrorCode.replicaMayMissAcknowledgedTransactions);
      expect(error.message).toMatch(/1 transaction\(s\) missing/);
      expect(error.facts['missingTransactions']).toBe('1');
      expect((await nodes.replica.facts()).readOnly).toBe(true);

      // Forced, the promotion goes ahead and the acknowledged row is indeed absent: the loss the
      // refusal protected against.
      const forced = await unplannedFailover(pair(), death, { force: true });
      expect(forced.after.primary.readOnly).toBe(false);
      const [rows] = await replicaPool.query(
        `SELECT COUNT(*) AS n FROM ${writeLoadTable} WHERE writer = 777`,
      );
      expect(rows).toEqual([{ n: '0' }]);
    } finally {
      for (const monitor of monitors) monitor.stop();
      await Promise.all(openPools.splice(-2).map((p) => p.end()));
      await Promise.all([nodes.primary.close(), nodes.replica.close()]);
      second.stop();
    }
  }, 180_000);
});
