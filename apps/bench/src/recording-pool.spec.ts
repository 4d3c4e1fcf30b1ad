import { mintedIds, replayable } from './recording-pool';

describe('replaying a recorded payment', () => {
  const statements = [
    { sql: 'START TRANSACTION', values: undefined },
    {
      sql: 'INSERT INTO idempotency (scope, k, response) VALUES (?, ?, ?)',
      values: ['payment:m-1', 'order-7', '{"paymentId":"pay_0042AAAAAAAAAAAA"}'],
    },
    {
      sql: 'INSERT INTO journal_lines VALUES ?',
      values: [[['jnl_0042BBBBBBBBBBBB', 1, 'acc_0042CCCCCCCCCCCC']]],
    },
    {
      sql: 'UPDATE accounts SET balance_minor = ? WHERE id = ?',
      values: ['990', 'acc_0042CCCCCCCCCCCC'],
    },
  ];

  it('finds the payment and journal IDs the payment minted, not the accounts it touched', () => {
    expect(mintedIds(statements).sort()).toEqual(['jnl_0042BBBBBBBBBBBB', 'pay_0042AAAAAAAAAAAA']);
  });

  it('replaces every unique value everywhere, including inside JSON and nested rows, and nothing else', () => {
    const replay = replayable(statements, ['order-7', ...mintedIds(statements)]);
    const copy = replay('000001');
    expect(copy.map((s) => s.sql)).toEqual(statements.map((s) => s.sql));
    expect(copy[1]?.values).toEqual([
      'payment:m-1',
      'order-7000001',
      '{"paymentId":"pay_0042AAAAAAAAAAAA000001"}',
    ]);
    expect(copy[2]?.values).toEqual([[['jnl_0042BBBBBBBBBBBB000001', 1, 'acc_0042CCCCCCCCCCCC']]]);
    expect(copy[3]?.values).toEqual(['990', 'acc_0042CCCCCCCCCCCC']);
    expect(replay('000002')[1]?.values).not.toEqual(copy[1]?.values);
  });
});
