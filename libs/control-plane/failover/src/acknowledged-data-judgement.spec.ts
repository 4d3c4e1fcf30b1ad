import { judgeAcknowledgedData } from './acknowledged-data-judgement';
import type { PrimaryDeath, PrimaryObservation } from './primary-monitor';

const observationAgeMsMax = 2_000;
const diedAt = new Date('2026-11-21T12:00:10.000Z');

function observation(
  atMsBeforeDeath: number,
  gtidBinlogPosition: string,
  semiSync: { active: boolean; noTx: bigint },
): PrimaryObservation {
  return {
    at: new Date(diedAt.getTime() - atMsBeforeDeath),
    gtidBinlogPosition,
    semiSync: {
      sourceActive: semiSync.active,
      clients: semiSync.active ? 1 : 0,
      unacknowledgedCommits: semiSync.noTx,
      acknowledgedCommits: 100n,
      replicaActive: false,
    },
  };
}

function deathAfter(first: PrimaryObservation | null, last: PrimaryObservation | null) {
  const death: PrimaryDeath = {
    lastAliveAt: last?.at ?? null,
    firstFailureAt: diedAt,
    declaredDeadAt: new Date(diedAt.getTime() + 600),
    failedProbes: 3,
    firstObservation: first,
    lastObservation: last,
  };
  return death;
}

const semiSyncOn = { active: true, noTx: 4n };

describe('judging whether a replica has every acknowledged transaction of a dead primary', () => {
  it('promotes when the primary wrote nothing the replica lacks', () => {
    const death = deathAfter(
      observation(5_000, '0-11-40', semiSyncOn),
      observation(300, '0-11-45', semiSyncOn),
    );

    const judgement = judgeAcknowledgedData(death, '0-11-45', observationAgeMsMax);

    expect(judgement.reasons).toEqual([]);
    expect(judgement.unacknowledgedTail).toBeNull();
    expect(judgement.facts['missingTransactions']).toBe('0');
  });

  it('promotes past a tail the replica never received while semi-sync stayed on, and records it', () => {
    const death = deathAfter(
      observation(5_000, '0-11-40', semiSyncOn),
      observation(300, '0-11-45,1-11-7', semiSyncOn),
    );

    const judgement = judgeAcknowledgedData(death, '0-11-42,1-11-7', observationAgeMsMax);

    expect(judgement.reasons).toEqual([]);
    expect(judgement.unacknowledgedTail).toEqual({
      transactionCount: 3,
      gtidRanges: '0-11-43..0-11-45',
      primaryLastSeenPosition: '0-11-45,1-11-7',
      replicaReceivedPosition: '0-11-42,1-11-7',
    });
    expect(judgement.facts['missingTransactions']).toBe('3');
    expect(judgement.facts['unacknowledgedTail']).toBe('0-11-43..0-11-45');
  });

  it('names a one-transaction tail by its GTID and a tail in several domains per domain', () => {
    const death = deathAfter(
      observation(5_000, '0-11-40', semiSyncOn),
      observation(300, '0-11-41,2-11-9', semiSyncOn),
    );

    const judgement = judgeAcknowledgedData(death, '0-11-40,2-11-5', observationAgeMsMax);

    expect(judgement.unacknowledgedTail?.gtidRanges).toBe('0-11-41,2-11-6..2-11-9');
    expect(judgement.unacknowledgedTail?.transactionCount).toBe(5);
  });

  it('refuses when Rpl_semi_sync_master_no_tx grew while watched, even with semi-sync back on', () => {
    const death = deathAfter(
      observation(5_000, '0-11-40', { active: true, noTx: 4n }),
      observation(300, '0-11-45', { active: true, noTx: 6n }),
    );

    const judgement = judgeAcknowledgedData(death, '0-11-43', observationAgeMsMax);

    expect(judgement.unacknowledgedTail).toBeNull();
    expect(judgement.reasons).toEqual([
      expect.stringMatching(/2 commit\(s\) were acknowledged without a replica acknowledgement/),
      expect.stringMatching(/2 transaction\(s\) missing/),
    ]);
  });

  it('refuses when semi-sync was off at the last observation', () => {
    const death = deathAfter(
      observation(5_000, '0-11-40', semiSyncOn),
      observation(300, '0-11-41', { active: false, noTx: 4n }),
    );

    const judgement = judgeAcknowledgedData(death, '0-11-40', observationAgeMsMax);

    expect(judgement.unacknowledgedTail).toBeNull();
    expect(judgement.reasons).toEqual([
      expect.stringMatching(/semi-sync was OFF at the last observation/),
      expect.stringMatching(/1 transaction\(s\) missing/),
    ]);
    expect(judgement.facts['semiSyncActiveAtLastObservation']).toBe(false);
  });

  it('refuses when the last observation is too old to vouch for the moment of the death', () => {
    const death = deathAfter(
      observation(9_000, '0-11-40', semiSyncOn),
      observation(observationAgeMsMax + 500, '0-11-45', semiSyncOn),
    );

    const judgement = judgeAcknowledgedData(death, '0-11-44', observationAgeMsMax);

    expect(judgement.unacknowledgedTail).toBeNull();
    expect(judgement.reasons).toEqual([
      expect.stringMatching(/is 2500 ms older than its first failed probe \(bound 2000 ms\)/),
      expect.stringMatching(/1 transaction\(s\) missing/),
    ]);
    expect(judgement.facts['lastObservationAgeMs']).toBe('2500');
  });

  it('refuses when the primary was never observed alive', () => {
    const judgement = judgeAcknowledgedData(deathAfter(null, null), '0-11-44', observationAgeMsMax);

    expect(judgement.reasons).toEqual([expect.stringMatching(/never observed alive/)]);
    expect(judgement.unacknowledgedTail).toBeNull();
  });
});
