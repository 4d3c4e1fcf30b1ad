import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The committed generated code must be exactly what the protos generate today. */
describe('generated proto code', () => {
  it('is up to date with the .proto sources', () => {
    const output = mkdtempSync(join(tmpdir(), 'cellpay-proto-'));
    try {
      execFileSync('node', [join(__dirname, '..', 'generate.mjs'), output], { stdio: 'pipe' });
      for (const file of [
        join('cellpay', 'cell', 'v1', 'cell.ts'),
        join('cellpay', 'v1', 'cellpay.ts'),
      ]) {
        const fresh = readFileSync(join(output, file), 'utf8');
        const committed = readFileSync(join(__dirname, 'generated', file), 'utf8');
        expect(committed).toBe(fresh);
      }
    } finally {
      rmSync(output, { recursive: true, force: true });
    }
  }, 60_000);
});
