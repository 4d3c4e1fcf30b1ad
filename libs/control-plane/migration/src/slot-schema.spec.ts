import {
  rowFingerprint,
  setChecksum,
  slotOfId,
  slotOfIdempotentResponse,
  slotPattern,
} from './slot-schema';

describe('slot-schema', () => {
  it('reads the slot every cell ID embeds, and nothing else', () => {
    expect(slotOfId('acc_0017ABCDEFGH12345678')).toBe(17);
    expect(slotOfId('pay_9999abcdefgh')).toBe(9999);
    expect(slotOfId('acc_17ABCDEFGH')).toBeUndefined();
    expect(slotOfId('mig_0017ABCDEFGH')).toBeUndefined();
    expect(slotOfId('acc_0017short')).toBeUndefined();
    expect(slotOfId(`acc_0017${'x'.repeat(33)}`)).toBeUndefined();
  });

  it('finds an idempotency record by the resource its stored response names first', () => {
    expect(
      slotOfIdempotentResponse(
        JSON.stringify({
          paymentId: 'pay_0042AAAAAAAAAAAA',
          payerAccountId: 'acc_0007BBBBBBBBBBBB',
        }),
      ),
    ).toBe(42);
    expect(
      slotOfIdempotentResponse(
        JSON.stringify({
          transferId: 'trf_0003AAAAAAAAAAAA',
          fromAccountId: 'acc_0003BBBBBBBBBBBB',
        }),
      ),
    ).toBe(3);
    expect(slotOfIdempotentResponse(JSON.stringify({ holdId: 'hld_0011AAAAAAAAAAAA' }))).toBe(11);
  });

  it("places a top-up's record with the account it credited, not the funding account's slot", () => {
    expect(
      slotOfIdempotentResponse(
        JSON.stringify({
          transferId: 'trf_9999AAAAAAAAAAAA',
          kind: 'top_up',
          fromAccountId: 'acc_9999BBBBBBBBBBBB',
          toAccountId: 'acc_0023CCCCCCCCCCCC',
          journalId: 'jnl_9999DDDDDDDDDDDD',
        }),
      ),
    ).toBe(23);
  });

  it('leaves records it cannot place where they are (undefined, never a guess)', () => {
    expect(slotOfIdempotentResponse('not json')).toBeUndefined();
    expect(slotOfIdempotentResponse('"a string"')).toBeUndefined();
    expect(
      slotOfIdempotentResponse(JSON.stringify({ other: 'acc_0001AAAAAAAAAAAA' })),
    ).toBeUndefined();
    expect(slotOfIdempotentResponse(JSON.stringify({ paymentId: 'garbage' }))).toBeUndefined();
  });

  it('builds a LIKE pattern whose underscore is literal, so it is one key range', () => {
    expect(slotPattern('acc', 7)).toBe('acc\\_0007%');
    expect(slotPattern('pay', 1234)).toBe('pay\\_1234%');
  });

  it('fingerprints rows independent of column order, and tells values apart', () => {
    const created = new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6));
    const row = { id: 'a', balance_minor: '10', created_at: created, note: null };
    const reordered = {
      note: null,
      created_at: new Date(created.getTime()),
      balance_minor: '10',
      id: 'a',
    };
    expect(rowFingerprint(row)).toBe(rowFingerprint(reordered));
    expect(rowFingerprint(row)).not.toBe(rowFingerprint({ ...row, balance_minor: '11' }));
    expect(rowFingerprint(row)).not.toBe(rowFingerprint({ ...row, note: 'null' }));
  });

  it('checksums a set regardless of order, and changes with any member', () => {
    expect(setChecksum(['b', 'a'])).toBe(setChecksum(['a', 'b']));
    expect(setChecksum(['a', 'b'])).not.toBe(setChecksum(['a', 'c']));
    expect(setChecksum(['a'])).not.toBe(setChecksum(['a', 'a']));
  });
});
