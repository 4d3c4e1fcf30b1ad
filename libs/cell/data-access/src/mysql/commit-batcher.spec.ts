import { AsyncLocalStorage } from 'node:async_hooks';

import { pollUntil } from '@cellpay/testing';

import {
  type BatchBackend,
  type BatchSession,
  CommitBatcher,
  type CommitBatchingLimits,
} from './commit-batcher';

/** The fake transaction: writes are pending until COMMIT, savepoints mark the pending list. */
interface FakeTx {
  write(entry: string): void;
}

class FakeDatabase implements BatchBackend<FakeTx> {
  readonly committed: string[] = [];
  readonly sessions: { sizeAtCommit: number; statements: string[] }[] = [];
  openSessions = 0;
  openSessionsMax = 0;
  aloneRuns: string[] = [];
  failBegin = false;
  failCommit = false;
  failRollbackToSavepoint = false;
  /** Resolves the pending COMMITs when set; COMMIT waits on it. */
  commitGate: Promise<void> = Promise.resolve();

  async begin(): Promise<BatchSession<FakeTx>> {
    if (this.failBegin) throw new Error('no connection');
    const pending: string[] = [];
    const marks = new Map<string, number>();
    const statements: string[] = [];
    const record = { sizeAtCommit: 0, statements };
    this.sessions.push(record);
    this.openSessions += 1;
    this.openSessionsMax = Math.max(this.openSessionsMax, this.openSessions);
    let open = true;
    const close = () => {
      if (open) this.openSessions -= 1;
      open = false;
    };
    return {
      transaction: {
        write: (entry) => {
          statements.push(`write ${entry}`);
          pending.push(entry);
        },
      },
      savepoint: async (name) => {
        statements.push(`savepoint ${name}`);
        marks.set(name, pending.length);
      },
      rollbackToSavepoint: async (name) => {
        statements.push(`rollback to ${name}`);
        if (this.failRollbackToSavepoint) throw new Error('SAVEPOINT does not exist');
        pending.length = marks.get(name) ?? 0;
      },
      commit: async () => {
        statements.push('commit');
        await this.commitGate;
        if (this.failCommit) throw new Error('connection lost during COMMIT');
        record.sizeAtCommit = pending.length;
        this.committed.push(...pending);
      },
      release: close,
      abandon: async () => {
        statements.push('abandon');
        close();
      },
    };
  }

  async runAlone<T>(operation: string, work: (tx: FakeTx) => Promise<T>): Promise<T> {
    this.aloneRuns.push(operation);
    const pending: string[] = [];
    const result = await work({ write: (entry) => pending.push(entry) });
    this.committed.push(...pending);
    return result;
  }

  endsTransaction(error: unknown): boolean {
    return (error as { errno?: unknown }).errno === 1213;
  }
}

const limits: CommitBatchingLimits = {
  batchSizeMax: 8,
  batchWaitMsMax: 0,
  batchesInFlightMax: 1,
  queuedUnitsMax: 100,
  singleUnitsBatched: false,
};

const writes =
  (entry: string) =>
  async (tx: FakeTx): Promise<string> => {
    tx.write(entry);
    return entry;
  };

function settled<T>(promises: Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  return Promise.allSettled(promises);
}

describe('CommitBatcher', () => {
  it('gathers units that arrive while a batch commits into the next batch', async () => {
    const db = new FakeDatabase();
    let openGate: () => void = () => undefined;
    db.commitGate = new Promise((resolve) => (openGate = resolve));
    const batcher = new CommitBatcher(db, { ...limits, singleUnitsBatched: true });
    const first = batcher.submit('pay', writes('a'));
    await pollUntil(() => db.sessions[0]?.statements.includes('commit') === true);
    const later = ['b', 'c', 'd'].map((entry) => batcher.submit('pay', writes(entry)));
    expect(batcher.queuedUnits).toBe(3);
    openGate();
    expect(await Promise.all([first, ...later])).toEqual(['a', 'b', 'c', 'd']);
    expect(db.sessions.map((s) => s.sizeAtCommit)).toEqual([1, 3]);
    expect(db.committed).toEqual(['a', 'b', 'c', 'd']);
    expect(batcher.stats).toEqual({
      batchesCommitted: 2,
      unitsCommittedInBatches: 4,
      batchesAbandoned: 0,
      unitsRunAlone: 0,
    });
  });

  it('runs a lone unit as a plain unit of work unless single units are batched', async () => {
    const db = new FakeDatabase();
    const batcher = new CommitBatcher(db, limits);
    expect(await batcher.submit('pay', writes('a'))).toBe('a');
    expect(db.aloneRuns).toEqual(['pay']);
    expect(db.sessions).toHaveLength(0);
  });

  it('waits the window for company, and starts a full batch at once', async () => {
    const db = new FakeDatabase();
    const batcher = new CommitBatcher(db, {
      ...limits,
      batchSizeMax: 4,
      batchWaitMsMax: 40,
      batchesInFlightMax: 2,
    });
    const units = Array.from({ length: 10 }, (_, i) => batcher.submit('pay', writes(`u${i}`)));
    // Two full batches started without waiting; the two left wait for the window.
    expect(db.sessions).toHaveLength(2);
    expect(batcher.queuedUnits).toBe(2);
    expect(await Promise.all(units)).toHaveLength(10);
    expect(db.sessions.map((s) => s.sizeAtCommit)).toEqual([4, 4, 2]);
    expect([...db.committed].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `u${i}`).sort());
  });

  it('never has more batches open than batchesInFlightMax', async () => {
    const db = new FakeDatabase();
    const batcher = new CommitBatcher(db, {
      ...limits,
      batchSizeMax: 2,
      batchesInFlightMax: 3,
      singleUnitsBatched: true,
    });
    const slowWrite = (entry: string) => async (tx: FakeTx) => {
      await new Promise((resolve) => setImmediate(resolve));
      tx.write(entry);
      return entry;
    };
    await Promise.all(
      Array.from({ length: 30 }, (_, i) => batcher.submit('pay', slowWrite(`${i}`))),
    );
    expect(db.openSessionsMax).toBe(3);
    expect(db.committed).toHaveLength(30);
  });

  it('replies to nobody before the COMMIT returned, refusals included', async () => {
    const db = new FakeDatabase();
    let openGate: () => void = () => undefined;
    db.commitGate = new Promise((resolve) => (openGate = resolve));
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    const heard: string[] = [];
    const ok = batcher.submit('pay', writes('a')).then(() => heard.push('a'));
    const refused = batcher
      .submit('pay', async () => {
        throw new Error('insufficient_funds');
      })
      .catch(() => heard.push('refused'));
    await pollUntil(() => db.sessions[0]?.statements.includes('commit') === true);
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard).toEqual([]);
    openGate();
    await Promise.all([ok, refused]);
    expect(heard.sort()).toEqual(['a', 'refused']);
  });

  it('rolls a failing unit back to its savepoint alone and gives it its own error', async () => {
    const db = new FakeDatabase();
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    const results = await settled([
      batcher.submit('pay', writes('a')),
      batcher.submit('pay', async (tx) => {
        tx.write('b-partial');
        throw new Error('insufficient_funds');
      }),
      batcher.submit('pay', writes('c')),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([
      'a',
      'Error: insufficient_funds',
      'c',
    ]);
    expect(db.committed).toEqual(['a', 'c']);
    expect(db.sessions[0]?.statements).toEqual([
      'savepoint batch_unit_1',
      'write a',
      'savepoint batch_unit_2',
      'write b-partial',
      'rollback to batch_unit_2',
      'savepoint batch_unit_3',
      'write c',
      'commit',
    ]);
    expect(db.aloneRuns).toEqual([]);
  });

  it('abandons a batch on a deadlock and runs every unit again alone, once each', async () => {
    const db = new FakeDatabase();
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    let deadlocks = 1;
    const results = await settled([
      batcher.submit('pay', writes('a')),
      batcher.submit('refuse', async () => {
        throw new Error('insufficient_funds');
      }),
      batcher.submit('deadlock', async (tx) => {
        if (deadlocks-- > 0) throw Object.assign(new Error('deadlock'), { errno: 1213 });
        tx.write('c');
        return 'c';
      }),
      batcher.submit('pay', writes('d')),
    ]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).toEqual([
      'a',
      'Error: insufficient_funds',
      'c',
      'd',
    ]);
    expect(db.sessions[0]?.statements.at(-1)).toBe('abandon');
    expect(db.sessions[0]?.statements).not.toContain('commit');
    expect(db.aloneRuns).toEqual(['pay', 'refuse', 'deadlock', 'pay']);
    expect([...db.committed].sort()).toEqual(['a', 'c', 'd']);
    expect(batcher.stats.batchesAbandoned).toBe(1);
    expect(db.openSessions).toBe(0);
  });

  it('abandons the batch when a savepoint cannot be rolled back to', async () => {
    const db = new FakeDatabase();
    db.failRollbackToSavepoint = true;
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    let failures = 1;
    const results = await settled([
      batcher.submit('pay', writes('a')),
      batcher.submit('pay', async (tx) => {
        if (failures-- > 0) throw new Error('statement failed');
        tx.write('b');
        return 'b';
      }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect([...db.committed].sort()).toEqual(['a', 'b']);
    expect(db.aloneRuns).toHaveLength(2);
  });

  it('gives every unit the error of a failed COMMIT and runs none again (in doubt)', async () => {
    const db = new FakeDatabase();
    db.failCommit = true;
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    const results = await settled([
      batcher.submit('pay', writes('a')),
      batcher.submit('pay', writes('b')),
    ]);
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : 'ok'))).toEqual([
      'Error: connection lost during COMMIT',
      'Error: connection lost during COMMIT',
    ]);
    expect(db.aloneRuns).toEqual([]);
    expect(db.committed).toEqual([]);
    expect(db.openSessions).toBe(0);
  });

  it('runs the units alone when no batch transaction can be opened', async () => {
    const db = new FakeDatabase();
    db.failBegin = true;
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    expect(
      await Promise.all([batcher.submit('pay', writes('a')), batcher.submit('pay', writes('b'))]),
    ).toEqual(['a', 'b']);
    expect(db.aloneRuns).toEqual(['pay', 'pay']);
  });

  it('runs a unit alone when the queue is at queuedUnitsMax', async () => {
    const db = new FakeDatabase();
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 30, queuedUnitsMax: 2 });
    const units = ['a', 'b', 'c'].map((entry) => batcher.submit(`op-${entry}`, writes(entry)));
    expect(batcher.queuedUnits).toBe(2);
    expect(db.aloneRuns).toEqual(['op-c']);
    expect(await Promise.all(units)).toEqual(['a', 'b', 'c']);
    expect(db.sessions.map((s) => s.sizeAtCommit)).toEqual([2]);
  });

  it("runs each unit in its caller's async context", async () => {
    const db = new FakeDatabase();
    const context = new AsyncLocalStorage<string>();
    const batcher = new CommitBatcher(db, { ...limits, batchWaitMsMax: 20 });
    const seen = await Promise.all(
      ['live', 'stress'].map((name) =>
        context.run(name, () => batcher.submit('pay', async () => context.getStore())),
      ),
    );
    expect(seen).toEqual(['live', 'stress']);
  });

  it('refuses limits below one', () => {
    expect(() => new CommitBatcher(new FakeDatabase(), { ...limits, batchSizeMax: 0 })).toThrow(
      'at least 1',
    );
  });
});
