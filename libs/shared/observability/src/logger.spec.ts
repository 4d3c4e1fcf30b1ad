import {
  currentRequestContext,
  isStressTraffic,
  isValidRequestId,
  newRequestId,
  requestIdLengthMax,
  runInRequestContext,
  stressMarkOf,
} from './context/request-context';
import { createLogger } from './logger';

describe('createLogger', () => {
  it('writes one JSON line with the service name and redacts secrets', () => {
    const lines: string[] = [];
    const logger = createLogger('gateway', {
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    logger.info({ credential: { keyId: 'k1', secret: 's3cr3t', signature: 'abc' } }, 'signed');
    logger.debug('below the level');

    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
    expect(entry).toMatchObject({ service: 'gateway', msg: 'signed', credential: { keyId: 'k1' } });
    expect(lines[0]).not.toContain('s3cr3t');
    expect(lines[0]).not.toContain('abc');
  });
});

describe('createLogger inside a request context', () => {
  const capture = (): { lines: string[]; logger: ReturnType<typeof createLogger> } => {
    const lines: string[] = [];
    const logger = createLogger('cell', {
      level: 'info',
      destination: { write: (line: string) => void lines.push(line) },
    });
    return { lines, logger };
  };
  const parsed = (line: string | undefined): Record<string, unknown> =>
    JSON.parse(line ?? '{}') as Record<string, unknown>;

  it('adds the request ID to every line, across awaits, and the stress mark only when set', async () => {
    const { lines, logger } = capture();
    await runInRequestContext({ requestId: 'req-live', stress: false }, async () => {
      await Promise.resolve();
      logger.info('live');
    });
    await runInRequestContext({ requestId: 'req-shadow', stress: true }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      logger.info({ payment: 'p1' }, 'shadow');
    });
    logger.info('outside');

    expect(parsed(lines[0])).toMatchObject({ requestId: 'req-live', msg: 'live' });
    expect(parsed(lines[0])).not.toHaveProperty('stress');
    expect(parsed(lines[1])).toMatchObject({
      requestId: 'req-shadow',
      stress: true,
      payment: 'p1',
    });
    expect(parsed(lines[2])).not.toHaveProperty('requestId');
  });

  it('keeps concurrent requests apart', async () => {
    const { lines, logger } = capture();
    const request = (id: string, delayMs: number): Promise<void> =>
      runInRequestContext({ requestId: id, stress: false }, async () => {
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        logger.info(id);
      });
    await Promise.all([request('req-a', 5), request('req-b', 1)]);
    for (const line of lines) {
      const entry = parsed(line);
      expect(entry['requestId']).toBe(entry['msg']);
    }
    expect(lines).toHaveLength(2);
  });
});

describe('request IDs and stress marks', () => {
  it('accepts bounded IDs of the settlement alphabet and refuses the rest', () => {
    expect(isValidRequestId('req-1:a.b_c')).toBe(true);
    expect(isValidRequestId(newRequestId())).toBe(true);
    expect(isValidRequestId('a'.repeat(requestIdLengthMax))).toBe(true);
    expect(isValidRequestId('a'.repeat(requestIdLengthMax + 1))).toBe(false);
    expect(isValidRequestId('')).toBe(false);
    expect(isValidRequestId('has space')).toBe(false);
    expect(isValidRequestId('new\nline')).toBe(false);
  });

  it('reads the stress mark as 1 or 0 (or absent) only', () => {
    expect(stressMarkOf('1')).toBe(true);
    expect(stressMarkOf('0')).toBe(false);
    expect(stressMarkOf(undefined)).toBe(false);
    expect(stressMarkOf('true')).toBeUndefined();
  });

  it('is live outside any context', () => {
    expect(currentRequestContext()).toBeUndefined();
    expect(isStressTraffic()).toBe(false);
    expect(runInRequestContext({ requestId: 'r', stress: true }, isStressTraffic)).toBe(true);
  });
});
