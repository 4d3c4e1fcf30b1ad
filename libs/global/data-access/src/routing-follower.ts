import type Redis from 'ioredis';

import { RoutingTable } from '@cellpay/routing';

import { deserializeSnapshot, serializeSnapshot, type RoutingStore } from './routing-store';
import {
  followerDefaults,
  publish,
  redisDocumentKeys,
  VersionedFollower,
  type FollowerOptions,
  type RedisDocumentKeys,
  type VersionedCodec,
  type VersionedSource,
} from './versioned-follower';

/** The routing table travels as its snapshot; deserializing validates it again. */
export const routingCodec: VersionedCodec<RoutingTable> = {
  serialize: (table) => serializeSnapshot(table.snapshot),
  deserialize: (json) => new RoutingTable(deserializeSnapshot(json)),
};

export function routingRedisKeys(prefix = 'cellpay'): RedisDocumentKeys {
  return redisDocumentKeys(prefix, 'routing');
}

export function routingSource(store: RoutingStore): VersionedSource<RoutingTable> {
  return {
    readVersion: () => store.readEpoch(),
    load: async () => {
      const snapshot = await store.loadSnapshot();
      return snapshot === undefined
        ? undefined
        : { version: snapshot.epoch, value: new RoutingTable(snapshot) };
    },
  };
}

/** Puts a committed routing table into the Redis cache and tells every follower. */
export function publishRoutingTable(
  redis: Redis,
  keys: RedisDocumentKeys,
  table: RoutingTable,
): Promise<boolean> {
  return publish(redis, keys, routingCodec, { version: table.epoch, value: table });
}

/** The routing table a process routes with, following changes within a second. */
export class RoutingFollower {
  private readonly follower: VersionedFollower<RoutingTable>;

  constructor(
    store: RoutingStore,
    redis: Redis,
    subscriber: Redis,
    options: Partial<FollowerOptions> & Pick<FollowerOptions, 'keys'>,
    onError?: (error: unknown) => void,
  ) {
    this.follower = new VersionedFollower(
      routingSource(store),
      routingCodec,
      redis,
      subscriber,
      { ...followerDefaults, ...options },
      onError,
    );
  }

  async start(): Promise<RoutingTable> {
    return (await this.follower.start()).value;
  }

  current(): RoutingTable {
    return this.follower.current().value;
  }

  onChange(listener: (table: RoutingTable) => void): void {
    this.follower.onChange((document) => listener(document.value));
  }

  stop(): Promise<void> {
    return this.follower.stop();
  }
}
