// The metrics of docs/metrics.md as data. Names, types and labels here are the contract that code,
// the dashboard and the alert rules share; metric-definitions.spec.ts fails when this file and the
// catalog in docs/metrics.md disagree.

/**
 * Buckets for request and transaction latency, in seconds. Dense between 0.5 ms and 100 ms, where
 * a healthy payment lives and where the 50 ms p99 target sits (so `histogram_quantile` is accurate
 * around it), then sparse up to 10 s to still place timeouts and stalls.
 */
export const latencyBucketsSeconds: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.035, 0.05, 0.075, 0.1, 0.25, 0.5, 1,
  2.5, 5, 10,
];

/**
 * Buckets for settlement lag (outbox row written -> applied in the other cell), in seconds. The
 * target is a p99 under 1 s, so the buckets are dense from 10 ms to 2.5 s; the tail up to 10 min
 * shows a stuck relay or a consumer that fell far behind.
 */
export const settlementLagBucketsSeconds: readonly number[] = [
  0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2.5, 5, 10, 30, 60, 300, 600,
];

interface MetricDefinitionBase<Label extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly Label[];
}

export interface CounterDefinition<Label extends string> extends MetricDefinitionBase<Label> {
  readonly type: 'counter';
}

export interface GaugeDefinition<Label extends string> extends MetricDefinitionBase<Label> {
  readonly type: 'gauge';
}

export interface HistogramDefinition<Label extends string> extends MetricDefinitionBase<Label> {
  readonly type: 'histogram';
  readonly buckets: readonly number[];
}

export type MetricDefinition<Label extends string = string> =
  CounterDefinition<Label> | GaugeDefinition<Label> | HistogramDefinition<Label>;

/** Every metric of docs/metrics.md, keyed by the property name processes use to reach it. */
export const metricDefinitions = {
  grpcRequestsTotal: {
    type: 'counter',
    name: 'cellpay_grpc_requests_total',
    help: 'gRPC calls handled, by status code',
    labelNames: ['service', 'method', 'code', 'cell'],
  } satisfies CounterDefinition<'service' | 'method' | 'code' | 'cell'>,
  grpcRequestDurationSeconds: {
    type: 'histogram',
    name: 'cellpay_grpc_request_duration_seconds',
    help: 'gRPC handling latency',
    labelNames: ['service', 'method', 'cell'],
    buckets: latencyBucketsSeconds,
  } satisfies HistogramDefinition<'service' | 'method' | 'cell'>,
  dbTransactionDurationSeconds: {
    type: 'histogram',
    name: 'cellpay_db_transaction_duration_seconds',
    help: 'Shard transaction latency, begin to commit',
    labelNames: ['cell', 'operation'],
    buckets: latencyBucketsSeconds,
  } satisfies HistogramDefinition<'cell' | 'operation'>,
  outboxDepth: {
    type: 'gauge',
    name: 'cellpay_outbox_depth',
    help: 'Outbox rows written but not yet published',
    labelNames: ['cell'],
  } satisfies GaugeDefinition<'cell'>,
  consumerLagMessages: {
    type: 'gauge',
    name: 'cellpay_consumer_lag_messages',
    help: 'Messages behind the high watermark',
    labelNames: ['cell', 'topic'],
  } satisfies GaugeDefinition<'cell' | 'topic'>,
  settlementLagSeconds: {
    type: 'histogram',
    name: 'cellpay_settlement_lag_seconds',
    help: 'Outbox row written -> applied in the other cell',
    labelNames: ['source_cell', 'destination_cell'],
    buckets: settlementLagBucketsSeconds,
  } satisfies HistogramDefinition<'source_cell' | 'destination_cell'>,
  deadLetterMessages: {
    type: 'gauge',
    name: 'cellpay_dead_letter_messages',
    help: 'Events in the dead-letter topic not yet replayed',
    labelNames: ['cell'],
  } satisfies GaugeDefinition<'cell'>,
  circuitBreakerState: {
    type: 'gauge',
    name: 'cellpay_circuit_breaker_state',
    help: 'Circuit breaker state towards a cell: 0 closed, 1 half-open, 2 open',
    labelNames: ['cell'],
  } satisfies GaugeDefinition<'cell'>,
  rateLimitedTotal: {
    type: 'counter',
    name: 'cellpay_rate_limited_total',
    help: 'Requests refused by the rate limiter',
    labelNames: ['merchant'],
  } satisfies CounterDefinition<'merchant'>,
  switchValue: {
    type: 'gauge',
    name: 'cellpay_switch_value',
    help: 'Current value of each degradation switch (booleans 0/1)',
    labelNames: ['switch'],
  } satisfies GaugeDefinition<'switch'>,
  routingEpoch: {
    type: 'gauge',
    name: 'cellpay_routing_epoch',
    help: 'Routing-table epoch this process follows',
    labelNames: [],
  } satisfies GaugeDefinition<never>,
  replicaLagSeconds: {
    type: 'gauge',
    name: 'cellpay_replica_lag_seconds',
    help: "Replication delay of the cell's standby replica",
    labelNames: ['cell'],
  } satisfies GaugeDefinition<'cell'>,
  glPostingBacklog: {
    type: 'gauge',
    name: 'cellpay_gl_posting_backlog',
    help: 'Journals not yet posted to the general ledger (deferred mode)',
    labelNames: ['cell'],
  } satisfies GaugeDefinition<'cell'>,
  reconciliationClean: {
    type: 'gauge',
    name: 'cellpay_reconciliation_clean',
    help: '1 if the last reconciliation found no difference; scope is cell, global or shadow',
    labelNames: ['cell', 'scope'],
  } satisfies GaugeDefinition<'cell' | 'scope'>,
  reconciliationDifferenceMinor: {
    type: 'gauge',
    name: 'cellpay_reconciliation_difference_minor',
    help: 'Sum of absolute differences found by the last reconciliation, in minor units',
    labelNames: ['cell', 'scope', 'currency'],
  } satisfies GaugeDefinition<'cell' | 'scope' | 'currency'>,
  reconciliationLastRunTimestampSeconds: {
    type: 'gauge',
    name: 'cellpay_reconciliation_last_run_timestamp_seconds',
    help: 'When the last reconciliation completed (Unix time, seconds)',
    labelNames: ['cell', 'scope'],
  } satisfies GaugeDefinition<'cell' | 'scope'>,
  admissionInFlight: {
    type: 'gauge',
    name: 'cellpay_admission_in_flight',
    help: 'Calls running in the cell under its admission bound; class is write or read',
    labelNames: ['cell', 'class'],
  } satisfies GaugeDefinition<'cell' | 'class'>,
  admissionQueueDepth: {
    type: 'gauge',
    name: 'cellpay_admission_queue_depth',
    help: 'Calls waiting for a turn in the cell; class is write or read',
    labelNames: ['cell', 'class'],
  } satisfies GaugeDefinition<'cell' | 'class'>,
  admissionRefusalsTotal: {
    type: 'counter',
    name: 'cellpay_admission_refusals_total',
    help: 'Calls the cell refused before any work: cell_overloaded by cause, or stress_traffic_rejected',
    labelNames: ['cell', 'class', 'cause'],
  } satisfies CounterDefinition<'cell' | 'class' | 'cause'>,
  cellOverloadedTotal: {
    type: 'counter',
    name: 'cellpay_cell_overloaded_total',
    help: 'Calls a cell refused as overloaded (cell_overloaded), seen by the gateway',
    labelNames: ['cell'],
  } satisfies CounterDefinition<'cell'>,
} as const;

export type MetricKey = keyof typeof metricDefinitions;

/** The label names of one catalog metric, as a string union (`never` for an unlabelled metric). */
export type LabelOf<Key extends MetricKey> =
  (typeof metricDefinitions)[Key]['labelNames'] extends readonly (infer Label)[]
    ? Label & string
    : never;

/**
 * The gRPC status code names, indexed by their numeric code. The `code` label takes only these
 * values, so a buggy or hostile status can never grow the label set.
 */
export const grpcStatusNames = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

export type GrpcStatusName = (typeof grpcStatusNames)[number];
