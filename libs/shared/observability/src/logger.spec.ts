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
