import {
  formatGtidPosition,
  gtidHistoryIsPrefixOf,
  gtidPositionCovers,
  missingGtidRanges,
  missingTransactionCount,
  parseGtidPosition,
} from './gtid-position';

describe('GTID positions', () => {
  it('parses and formats a multi-domain position in domain order', () => {
    const position = parseGtidPosition('1-12-7, 0-11-42');
    expect(position.get(0)).toEqual({ domainId: 0, serverId: 11, sequence: 42n });
    expect(formatGtidPosition(position)).toBe('0-11-42,1-12-7');
    expect(parseGtidPosition('').size).toBe(0);
  });

  it('refuses text that is not a GTID list', () => {
    expect(() => parseGtidPosition('0-11')).toThrow(/not a GTID/);
    expect(() => parseGtidPosition('0-11-1,0-12-2')).toThrow(/twice/);
  });

  it('counts the transactions one position lacks, per domain', () => {
    const primary = parseGtidPosition('0-11-50,1-11-3');
    expect(missingTransactionCount(parseGtidPosition('0-11-47'), primary)).toBe(6n);
    expect(gtidPositionCovers(parseGtidPosition('0-11-50,1-11-3'), primary)).toBe(true);
    expect(gtidPositionCovers(parseGtidPosition('0-11-51,1-11-3'), primary)).toBe(true);
    expect(gtidPositionCovers(parseGtidPosition('0-11-49,1-11-3'), primary)).toBe(false);
  });

  it('tells a prefix history from a diverged one', () => {
    const promotedAt = parseGtidPosition('0-11-100');
    expect(gtidHistoryIsPrefixOf(parseGtidPosition('0-11-100'), promotedAt)).toBe(true);
    expect(gtidHistoryIsPrefixOf(parseGtidPosition('0-11-90'), promotedAt)).toBe(true);
    // A transaction the old primary wrote after the replica last received anything.
    expect(gtidHistoryIsPrefixOf(parseGtidPosition('0-11-101'), promotedAt)).toBe(false);
    // The same sequence number written by another server is another transaction.
    expect(gtidHistoryIsPrefixOf(parseGtidPosition('0-13-100'), promotedAt)).toBe(false);
    expect(gtidHistoryIsPrefixOf(parseGtidPosition('5-11-1'), promotedAt)).toBe(false);
  });
});

describe('missing GTID ranges', () => {
  it('names what one position lacks of another, per domain, with the writer of the range', () => {
    const wanted = parseGtidPosition('0-11-45,1-11-3,2-11-1');
    expect(missingGtidRanges(parseGtidPosition('0-12-42,1-11-3'), wanted)).toBe(
      '0-11-43..0-11-45,2-11-1',
    );
    expect(missingGtidRanges(wanted, wanted)).toBe('');
  });
});
