import type { Admin } from 'kafkajs';

import {
  deadLetterTopic,
  deadLetterTopicConfig,
  inboundTopic,
  inboundTopicConfig,
} from '@cellpay/settlement-domain';

/**
 * Creates every cell's inbound and dead-letter topics with their partitions and retention. Topics
 * are never auto-created by the broker, so this runs at deploy (and in tests) before any traffic.
 */
export async function ensureSettlementTopics(
  admin: Admin,
  cellIds: readonly string[],
  topicPrefix: string,
  replicationFactor = 1,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const wanted = cellIds.flatMap((cellId) => [
    { topic: inboundTopic(cellId, topicPrefix), config: inboundTopicConfig },
    { topic: deadLetterTopic(cellId, topicPrefix), config: deadLetterTopicConfig },
  ]);
  const missing = wanted.filter(({ topic }) => !existing.has(topic));
  if (missing.length === 0) return;
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map(({ topic, config }) => ({
      topic,
      numPartitions: config.numPartitions,
      replicationFactor,
      configEntries: [
        { name: 'retention.ms', value: String(config.retentionMs) },
        { name: 'cleanup.policy', value: 'delete' },
        // With several replicas, acks=all must mean at least two copies.
        { name: 'min.insync.replicas', value: String(Math.min(2, replicationFactor)) },
      ],
    })),
  });
}
