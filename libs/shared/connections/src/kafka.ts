import {
  Kafka,
  logLevel,
  Partitioners,
  type Consumer,
  type ConsumerConfig,
  type Producer,
} from 'kafkajs';

export interface KafkaEndpoint {
  readonly brokers: readonly string[];
  readonly clientId: string;
}

/** A kafkajs client with timeouts and retry bounds set explicitly rather than by default. */
export function createKafka(endpoint: KafkaEndpoint): Kafka {
  return new Kafka({
    clientId: endpoint.clientId,
    brokers: [...endpoint.brokers],
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2_000, retries: 5, factor: 0.2, multiplier: 2 },
    logLevel: logLevel.WARN,
  });
}

/**
 * The idempotent producer every publisher of money events uses: acks from all in-sync replicas,
 * one request in flight per connection (what kafkajs needs to keep idempotence), and the partitioner
 * chosen explicitly so a library upgrade cannot move keys between partitions.
 */
export function createIdempotentProducer(kafka: Kafka): Producer {
  return kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
  });
}

export const producerAcksAll = -1;

export function createConsumer(
  kafka: Kafka,
  groupId: string,
  overrides: Partial<ConsumerConfig> = {},
): Consumer {
  return kafka.consumer({
    groupId,
    allowAutoTopicCreation: false,
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    rebalanceTimeout: 10_000,
    maxBytesPerPartition: 1_048_576,
    maxWaitTimeInMs: 100,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2_000 },
    ...overrides,
  });
}
