import {
  parseSettlementEvent,
  serializeSettlementEvent,
  SettlementEventError,
  SettlementEventType,
  type SettlementEvent,
} from './settlement-event';
import { CrossCellRefundState, canFinishRefund, canSettle, SettlementState } from './saga';
import { deadLetterTopic, inboundTopic } from './topics';

const event: SettlementEvent = {
  schemaVersion: 1,
  eventId: 'evt_0042_000001',
  type: SettlementEventType.CreditRequested,
  sourceCellId: 'cell-1',
  destinationCellId: 'cell-2',
  sagaId: 'pay_0042_01JD8X',
  accountId: 'acc_0077_01JD8Y',
  amountMinor: 9_223_372_036_854_775_807n,
  currency: 'CNY',
  createdAtMs: 1_780_000_000_000,
  stress: false,
  requestId: 'req-1',
  attributes: { merchantId: 'merchant-1' },
};

describe('settlement events', () => {
  it('round-trips exactly, with the amount as a decimal string on the wire', () => {
    const wire = serializeSettlementEvent(event);
    expect(JSON.parse(wire).amountMinor).toBe('9223372036854775807');
    expect(parseSettlementEvent(wire)).toEqual(event);
  });

  it.each([
    ['not JSON', () => '{'],
    [
      'an unknown schema version',
      () => JSON.stringify({ ...JSON.parse(serializeSettlementEvent(event)), schemaVersion: 2 }),
    ],
    [
      'an unknown type',
      () => serializeSettlementEvent(event).replace('credit_requested', 'debit_everyone'),
    ],
    [
      'a numeric amount',
      () => serializeSettlementEvent(event).replace('"9223372036854775807"', '100'),
    ],
    [
      'a zero amount',
      () => serializeSettlementEvent({ ...event, amountMinor: 1n }).replace('"1"', '"0"'),
    ],
    [
      'an amount beyond BIGINT',
      () =>
        serializeSettlementEvent(event).replace('"9223372036854775807"', '"9223372036854775808"'),
    ],
    [
      'a fractional amount',
      () => serializeSettlementEvent(event).replace('"9223372036854775807"', '"12.5"'),
    ],
    [
      'a malformed cell',
      () => serializeSettlementEvent(event).replace('"cell-2"', '"cell-2; DROP"'),
    ],
    ['a malformed currency', () => serializeSettlementEvent(event).replace('"CNY"', '"yuan"')],
  ])('refuses %s', (_name, wire) => {
    expect(() => parseSettlementEvent(wire())).toThrow(SettlementEventError);
  });

  it('refuses to serialize an event addressed to its own cell', () => {
    expect(() => serializeSettlementEvent({ ...event, destinationCellId: 'cell-1' })).toThrow(
      /same/,
    );
  });

  it('names one inbound and one dead-letter topic per cell', () => {
    expect(inboundTopic('cell-2')).toBe('cellpay.settlement.inbound.cell-2');
    expect(deadLetterTopic('cell-2', 'test')).toBe('test.settlement.dead-letter.cell-2');
  });

  it('allows only forward saga transitions', () => {
    expect(canSettle(SettlementState.Settling, SettlementState.Settled)).toBe(true);
    expect(canSettle(SettlementState.Settled, SettlementState.Settling)).toBe(false);
    expect(canSettle(SettlementState.Local, SettlementState.Settled)).toBe(false);
    expect(canFinishRefund(CrossCellRefundState.Pending, CrossCellRefundState.Failed)).toBe(true);
    expect(canFinishRefund(CrossCellRefundState.Failed, CrossCellRefundState.Succeeded)).toBe(
      false,
    );
  });
});
