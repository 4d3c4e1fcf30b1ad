// The alert rules and the dashboard are tested code: every PromQL expression parses with the
// official grammar, every metric it reads is in the docs/metrics.md catalog, every alert the
// catalog promises exists with the fields Prometheus and the on-call need, and the dashboard has
// the structure Grafana needs.
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { parse } from 'yaml';
import { metricCatalog, readText, repoRoot } from './deploy-checks.helper';

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface Target {
  refId: string;
  expr: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: { name: string; type: string }[] };
}

const observabilityDir = join(repoRoot, 'deploy', 'observability');
const ruleFile = parse(readText(join(observabilityDir, 'alert-rules.yaml'))) as RuleFile;
const dashboard = JSON.parse(readText(join(observabilityDir, 'dashboard.json'))) as Dashboard;
const alerts = ruleFile.groups.flatMap((group) => group.rules);
const catalog = metricCatalog();
const histogramSuffixes = ['_bucket', '_sum', '_count'];

interface ParsedQuery {
  errors: string[];
  metrics: string[];
}

/** Parses PromQL; returns the text around each error node and every metric name selected. */
function parsePromql(expression: string): ParsedQuery {
  const tree = parser.parse(expression);
  const errors: string[] = [];
  const metrics: string[] = [];
  tree.iterate({
    enter: (node) => {
      if (node.type.isError) {
        errors.push(
          `error at ${node.from}: "${expression.slice(Math.max(0, node.from - 10), node.to + 10)}"`,
        );
      }
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.push(expression.slice(node.from, node.to));
      }
    },
  });
  return { errors, metrics };
}

/** The catalog metric a series name belongs to (histograms expose _bucket, _sum and _count). */
function catalogMetric(series: string): string | undefined {
  if (catalog.has(series)) {
    return series;
  }
  const suffix = histogramSuffixes.find((candidate) => series.endsWith(candidate));
  const base = suffix ? series.slice(0, -suffix.length) : undefined;
  return base !== undefined && catalog.get(base) === 'histogram' ? base : undefined;
}

/** The alert names of the table in docs/metrics.md, "## Alerts" section. */
function documentedAlerts(): string[] {
  const section = readText(join(repoRoot, 'docs', 'metrics.md')).split('## Alerts')[1] ?? '';
  return [...section.matchAll(/^\|\s*`(Cellpay[A-Za-z]+)`/gm)].map((match) => match[1] ?? '');
}

describe('PromQL checks', () => {
  it('see a broken expression and an unknown metric', () => {
    expect(parsePromql('sum(rate(cellpay_outbox_depth[5m])').errors).not.toEqual([]);
    expect(parsePromql('rate(foo[5m]) +').errors).not.toEqual([]);
    expect(parsePromql('max by (cell) (cellpay_outbox_depth) > 10000')).toEqual({
      errors: [],
      metrics: ['cellpay_outbox_depth'],
    });
    expect(catalogMetric('cellpay_settlement_lag_seconds_bucket')).toBe(
      'cellpay_settlement_lag_seconds',
    );
    expect(catalogMetric('cellpay_outbox_depth_bucket')).toBeUndefined();
    expect(catalogMetric('cellpay_made_up_total')).toBeUndefined();
  });
});

describe('alert rules (deploy/observability/alert-rules.yaml)', () => {
  it('define every alert docs/metrics.md promises, and only alerts', () => {
    expect(documentedAlerts().length).toBeGreaterThanOrEqual(7);
    expect(alerts.map((rule) => rule.alert).sort()).toEqual(documentedAlerts().sort());
  });

  it.each(alerts.map((rule) => [rule.alert ?? '(unnamed)', rule] as const))(
    '%s parses, reads only catalog metrics, and has for, severity, summary and description',
    (_name, rule) => {
      const { errors, metrics } = parsePromql(rule.expr);
      expect(errors).toEqual([]);
      expect(metrics.length).toBeGreaterThan(0);
      for (const metric of metrics) {
        expect({ metric, inCatalog: catalogMetric(metric) !== undefined }).toEqual({
          metric,
          inCatalog: true,
        });
      }
      expect(rule.for).toMatch(/^[0-9]+(s|m|h)$/);
      expect(['critical', 'warning']).toContain(rule.labels?.['severity']);
      expect(rule.annotations?.['summary']).toEqual(expect.any(String));
      expect(rule.annotations?.['description']).toEqual(expect.any(String));
      expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
    },
  );

  it('have unique group names and unique alert names', () => {
    const groups = ruleFile.groups.map((group) => group.name);
    expect(new Set(groups).size).toBe(groups.length);
    const names = alerts.map((rule) => rule.alert);
    expect(new Set(names).size).toBe(names.length);
  });
});

describe('Grafana dashboard (deploy/observability/dashboard.json)', () => {
  it('has a uid, a title, a schema version and a Prometheus data source variable', () => {
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    expect(dashboard.title).toEqual(expect.any(String));
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(30);
    expect(dashboard.templating.list).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'datasource', type: 'datasource' })]),
    );
  });

  it('has panels with unique ids, a position, the data source and at least one target', () => {
    expect(dashboard.panels.length).toBeGreaterThan(0);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of dashboard.panels) {
      expect(panel.title).toEqual(expect.any(String));
      expect(panel.type).toEqual(expect.any(String));
      expect(panel.gridPos).toEqual({
        h: expect.any(Number),
        w: expect.any(Number),
        x: expect.any(Number),
        y: expect.any(Number),
      });
      expect(panel.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(panel.targets.length).toBeGreaterThan(0);
      const refIds = panel.targets.map((target) => target.refId);
      expect(new Set(refIds).size).toBe(refIds.length);
    }
  });

  it('queries only parseable PromQL over catalog metrics', () => {
    const queried = new Set<string>();
    for (const target of dashboard.panels.flatMap((panel) => panel.targets)) {
      const { errors, metrics } = parsePromql(target.expr);
      expect({ expr: target.expr, errors }).toEqual({ expr: target.expr, errors: [] });
      for (const metric of metrics) {
        expect({ metric, inCatalog: catalogMetric(metric) !== undefined }).toEqual({
          metric,
          inCatalog: true,
        });
        queried.add(catalogMetric(metric) ?? metric);
      }
    }
    // Every catalog metric is on the dashboard: a metric nobody can see is a metric nobody reads.
    expect([...catalog.keys()].filter((metric) => !queried.has(metric))).toEqual([]);
  });
});
