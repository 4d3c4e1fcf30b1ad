import { runCellctl } from '../cellctl';
import { parseCellShards } from '../control-plane-context';
import type { Terminal } from '../terminal';

/** Settings only: connections open on first use, and these cases fail before any is needed. */
const env = {
  CELLPAY_GLOBAL_MYSQL_URL: 'mysql://u:p@127.0.0.1:1/global',
  CELLPAY_REDIS_URL: 'redis://127.0.0.1:1',
  CELLPAY_KAFKA_BROKERS: '127.0.0.1:1',
};

async function cellctl(args: string[], extra: Record<string, string> = {}) {
  const err: string[] = [];
  const terminal: Terminal = {
    out: () => undefined,
    err: (text) => err.push(text),
    confirm: async () => false,
  };
  const code = await runCellctl(args, terminal, { ...env, ...extra });
  return { code, err: err.join('\n') };
}

describe('cellctl reconcile: which shards', () => {
  it('reads CELLPAY_CELL_SHARDS as cell=url pairs', () => {
    expect(parseCellShards(' cell-1=mysql://a:b@h:1/c1 , cell-2=mysql://a:b@h:2/c2,')).toEqual([
      { cellId: 'cell-1', url: 'mysql://a:b@h:1/c1' },
      { cellId: 'cell-2', url: 'mysql://a:b@h:2/c2' },
    ]);
    expect(parseCellShards('')).toEqual([]);
  });

  it('refuses a malformed entry without printing its password', () => {
    const messageOf = (value: string): string => {
      try {
        parseCellShards(value);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error(`accepted ${value}`);
    };
    const message = messageOf('shard1=mysql://root:hunter2@h/db');
    expect(message).toContain('expected cell-N=mysql://..., got "shard1=..."');
    expect(message).not.toContain('hunter2');
    expect(messageOf('cell-1=postgres://root:hunter2@h/db')).not.toContain('hunter2');
  });

  it('says what to configure when no shard is known', async () => {
    const result = await cellctl(['reconcile']);
    expect(result.code).toBe(1);
    expect(result.err).toContain('no cell shards configured');
  });

  it('names the configured cells when asked for another', async () => {
    const shards = 'cell-1=mysql://u:p@127.0.0.1:1/c1,cell-2=mysql://u:p@127.0.0.1:1/c2';
    const result = await cellctl(['reconcile', 'cell-7'], { CELLPAY_CELL_SHARDS: shards });
    expect(result.code).toBe(1);
    expect(result.err).toContain('unknown cell cell-7; configured cells: cell-1, cell-2');
  });

  it('does not take a cell together with --global', async () => {
    const shards = 'cell-1=mysql://u:p@127.0.0.1:1/c1';
    const result = await cellctl(['reconcile', 'cell-1', '--global'], {
      CELLPAY_CELL_SHARDS: shards,
    });
    expect(result.code).toBe(1);
    expect(result.err).toContain('--global reconciles every cell');
  });
});
