import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  grpcStatusNames,
  latencyBucketsSeconds,
  metricDefinitions,
  settlementLagBucketsSeconds,
} from './metric-definitions';

interface CatalogRow {
  readonly name: string;
  readonly type: string;
  readonly labels: readonly string[];
}

/** The metric table of docs/metrics.md, which dashboards and alert rules are written against. */
function readCatalog(): CatalogRow[] {
  const markdown = readFileSync(join(__dirname, '../../../../../docs/metrics.md'), 'utf8');
  const rows: CatalogRow[] = [];
  for (const line of markdown.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    const name = /^`(cellpay_[a-z_]+)`$/.exec(cells[1] ?? '')?.[1];
    if (name === undefined) continue;
    const labels = [...(cells[3] ?? '').matchAll(/`([a-z_]+)`/g)].map((match) => match[1] ?? '');
    rows.push({ name, type: cells[2] ?? '', labels });
  }
  return rows;
}

describe('metricDefinitions', () => {
  it('holds exactly the metrics of docs/metrics.md, with the same types and labels', () => {
    const catalog = readCatalog();
    const defined = Object.values(metricDefinitions).map((definition) => ({
      name: definition.name,
      type: definition.type,
      labels: [...definition.labelNames],
    }));

    expect(catalog.length).toBeGreaterThanOrEqual(16);
    expect(sortByName(defined)).toEqual(sortByName(catalog));
  });

  it('has strictly increasing buckets that put a boundary on each target', () => {
    for (const buckets of [latencyBucketsSeconds, settlementLagBucketsSeconds]) {
      buckets.forEach((bound, index) => {
        if (index > 0) expect(bound).toBeGreaterThan(buckets[index - 1] ?? Infinity);
      });
    }
    // p99 under 50 ms end to end and settlement lag p99 under 1 s are the targets to judge.
    expect(latencyBucketsSeconds).toContain(0.05);
    expect(settlementLagBucketsSeconds).toContain(1);
  });

  it('names the 17 gRPC status codes in numeric order', () => {
    expect(grpcStatusNames).toHaveLength(17);
    expect(grpcStatusNames[0]).toBe('OK');
    expect(grpcStatusNames[14]).toBe('UNAVAILABLE');
    expect(grpcStatusNames[16]).toBe('UNAUTHENTICATED');
  });
});

function sortByName<T extends { readonly name: string }>(rows: readonly T[]): T[] {
  return [...rows].sort((left, right) => left.name.localeCompare(right.name));
}
