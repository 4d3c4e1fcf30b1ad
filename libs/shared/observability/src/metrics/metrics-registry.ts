import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import {
  type CounterDefinition,
  type GaugeDefinition,
  type HistogramDefinition,
  type MetricDefinition,
  type MetricKey,
  metricDefinitions,
} from './metric-definitions';

export interface MetricsRegistryOptions {
  /**
   * Whether to collect prom-client's default process metrics (CPU, memory, event-loop lag, GC).
   * Every long-running process wants them; tests that compare exact output turn them off.
   */
  readonly defaultMetrics?: boolean;
}

/**
 * One registry per process. Its own instance (not prom-client's global one), so two registries in
 * one process (tests, or the all-in-one platform) never see each other's metrics.
 */
export function createMetricsRegistry(options: MetricsRegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

/** The prom-client type a catalog definition produces, with its label names carried over. */
export type MetricFor<Definition> =
  Definition extends CounterDefinition<infer Label>
    ? Counter<Label>
    : Definition extends GaugeDefinition<infer Label>
      ? Gauge<Label>
      : Definition extends HistogramDefinition<infer Label>
        ? Histogram<Label>
        : never;

/**
 * Registers one metric of the catalog (or returns it if this registry already has it, so several
 * modules of one process can ask for the same metric). A name that is taken by a metric of another
 * type is a programmer error and throws.
 */
export function registerMetric<Definition extends MetricDefinition>(
  registry: Registry,
  definition: Definition,
): MetricFor<Definition> {
  const existing = registry.getSingleMetric(definition.name);
  if (existing !== undefined) {
    if (!matchesType(existing, definition)) {
      throw new Error(`metric ${definition.name} is already registered with another type`);
    }
    return existing as unknown as MetricFor<Definition>;
  }
  const configuration = {
    name: definition.name,
    help: definition.help,
    labelNames: [...definition.labelNames],
    registers: [registry],
  };
  switch (definition.type) {
    case 'counter':
      return new Counter(configuration) as MetricFor<Definition>;
    case 'gauge':
      return new Gauge(configuration) as MetricFor<Definition>;
    case 'histogram':
      return new Histogram({
        ...configuration,
        buckets: [...definition.buckets],
      }) as MetricFor<Definition>;
  }
}

function matchesType(metric: object, definition: MetricDefinition): boolean {
  switch (definition.type) {
    case 'counter':
      return metric instanceof Counter;
    case 'gauge':
      return metric instanceof Gauge;
    case 'histogram':
      return metric instanceof Histogram;
  }
}

/** Every catalog metric, typed by its definition: `metrics.outboxDepth.set({ cell }, n)`. */
export type CellpayMetrics = {
  readonly [Key in MetricKey]: MetricFor<(typeof metricDefinitions)[Key]>;
};

/** Registers the whole catalog on `registry` (idempotent) and returns the typed metrics. */
export function createCellpayMetrics(registry: Registry): CellpayMetrics {
  const entries = (Object.keys(metricDefinitions) as MetricKey[]).map(
    (key) => [key, registerMetric(registry, metricDefinitions[key])] as const,
  );
  return Object.fromEntries(entries) as unknown as CellpayMetrics;
}
