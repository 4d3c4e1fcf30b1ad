import { Metadata, status } from '@grpc/grpc-js';

import { CellUnavailableError, GatewayError, GatewayErrorCode } from '@cellpay/gateway-edge';
import { decodeErrorStatus, encodeErrorStatus } from '@cellpay/proto';

import { toGatewayServiceError } from './gateway-error.filter';
import { isCellFailure } from './gateway.service';

const detailsOf = (metadata: Metadata) =>
  decodeErrorStatus(metadata.get('grpc-status-details-bin')[0] as Buffer);

function cellError(code: status, reason?: string): Error & { code: status; metadata: Metadata } {
  const metadata = new Metadata();
  if (reason !== undefined) {
    metadata.set('grpc-status-details-bin', encodeErrorStatus(code, 'refused', reason));
  }
  return Object.assign(new Error('refused'), { code, details: 'refused', metadata });
}

describe('the gateway error filter', () => {
  it('maps its own refusals to their status with the rule and its facts', () => {
    const mapped = toGatewayServiceError(
      new GatewayError(GatewayErrorCode.RateLimited, 'slow down', { retryAfterMs: '250' }),
    );
    expect(mapped.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(detailsOf(mapped.metadata)).toMatchObject({
      reason: 'rate_limited',
      metadata: { retryAfterMs: '250' },
    });
  });

  it('says which cell is unavailable and why', () => {
    const mapped = toGatewayServiceError(new CellUnavailableError('cell-2', 'breaker_open'));
    expect(mapped.code).toBe(status.UNAVAILABLE);
    expect(detailsOf(mapped.metadata)).toMatchObject({
      reason: 'cell_unavailable',
      metadata: { cell: 'cell-2', cause: 'breaker_open' },
    });
  });

  it("passes a cell's refusal through untouched", () => {
    const mapped = toGatewayServiceError(
      cellError(status.FAILED_PRECONDITION, 'insufficient_funds'),
    );
    expect(mapped.code).toBe(status.FAILED_PRECONDITION);
    expect(detailsOf(mapped.metadata).reason).toBe('insufficient_funds');
  });

  it('turns an unreachable cell into cell_unavailable and anything unknown into a bare INTERNAL', () => {
    expect(detailsOf(toGatewayServiceError(cellError(status.UNAVAILABLE)).metadata)).toMatchObject({
      reason: 'cell_unavailable',
      metadata: { cause: 'unreachable' },
    });
    const internal = toGatewayServiceError(new TypeError('secret detail'));
    expect(internal.code).toBe(status.INTERNAL);
    expect(internal.details).not.toContain('secret detail');
  });
});

describe('what counts against a cell breaker', () => {
  it('counts transport failures, not refusals the cell made on purpose', () => {
    expect(isCellFailure(cellError(status.UNAVAILABLE))).toBe(true);
    expect(isCellFailure(cellError(status.DEADLINE_EXCEEDED))).toBe(true);
    expect(isCellFailure(cellError(status.FAILED_PRECONDITION, 'insufficient_funds'))).toBe(false);
    expect(isCellFailure(cellError(status.UNAVAILABLE, 'slot_not_owned_at_epoch'))).toBe(false);
  });
});
