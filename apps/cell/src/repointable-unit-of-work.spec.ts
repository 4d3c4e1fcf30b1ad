import { CellError, CellErrorCode } from '@cellpay/cell-domain';

import { shardUnavailableOr } from './repointable-unit-of-work';

describe('shardUnavailableOr', () => {
  it.each([
    ['a fenced primary (read_only)', { errno: 1290, code: 'ER_OPTION_PREVENTS_STATEMENT' }],
    ['a connection cut by the fence', { errno: 1927, code: 'ER_CONNECTION_KILLED' }],
    ['a dead primary', { code: 'ECONNREFUSED' }],
    ['a lost connection', { code: 'PROTOCOL_CONNECTION_LOST' }],
  ])('turns %s into a retryable shard_unavailable', (_name, error) => {
    const lifted = shardUnavailableOr(Object.assign(new Error('x'), error), 'pay');
    expect(lifted).toBeInstanceOf(CellError);
    expect((lifted as CellError).code).toBe(CellErrorCode.ShardUnavailable);
    expect((lifted as CellError).message).toMatch(/^pay: the shard primary is not available/);
  });

  it('leaves domain refusals and other database errors as they are', () => {
    const refusal = new CellError(CellErrorCode.InsufficientFunds, 'no');
    expect(shardUnavailableOr(refusal, 'pay')).toBe(refusal);
    const duplicate = Object.assign(new Error('dup'), { errno: 1062, code: 'ER_DUP_ENTRY' });
    expect(shardUnavailableOr(duplicate, 'pay')).toBe(duplicate);
    expect(shardUnavailableOr(undefined, 'pay')).toBeUndefined();
  });
});
