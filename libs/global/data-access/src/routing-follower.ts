import type Redis from 'ioredis';

import { RoutingTable } from '@cellpay/routing';

import { deserializeSnapshot, serializeSnapshot, type RoutingStore } from './routing-store';

export interface RoutingRedisKeys {
  readonly snapshot: string;
  readonly epoch: string;
  readonly channel: string;
}

export function routingRedisKeys(prefix = 'cellpay'): RoutingRedisKeys {
  return {
    snapshot: `${prefix}:routing:snapshot`,
    epoch: `${prefix}:routing:epoch`,
    channel: `${prefix}:routing:changed`,
  };
}

// Compare-and-set on the epoch: a slow writer can never put an older table over a newer one.
const publishScript = `
local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1`;

/** Puts a committed table into the Redis cache and tells every follower. */
export async function publishRoutingTable(
  redis: Redis,
  keys: RoutingRedisKeys,
  table: RoutingTable,
): Promise<boolean> {
  const result = await redis.eval(
    publishScript,
    3,
    keys.snapshot,
    keys.epoch,
    keys.channel,
    table.epoch.toString(),
    serializeSnapshot(table.snapshot),
  );
  return result === 1;
}

export interface RoutingFollowerOptions {
  readonly keys: RoutingRedisKeys;
  /** A cheap GET of the epoch in Redis, in case a pub/sub message was missed. */
  readonly redisPollIntervalMs: number;
  /** A single-row read of the epoch in MySQL, in case Redis itself missed a publication. */
  readonly databasePollIntervalMs: number;
}

export const routingFollowerDefaults: Omit<RoutingFollowerOptions, 'keys'> = {
  redisPollIntervalMs: 500,
  databasePollIntervalMs: 5_000,
};

/**
 * Holds the routing table a process routes with and follows its changes within a second: pub/sub
 * for speed, a poll of the Redis epoch for missed messages, and a slower poll of the database for a
 * cache that missed a publication (which it then repairs). The table in memory only ever moves
 * forward in epoch; refreshes never overlap.
 */
export class RoutingFollower {
  private table: RoutingTable | undefined;
  private readonly listeners: ((table: RoutingTable) => void)[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: RoutingStore,
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly options: RoutingFollowerOptions,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<RoutingTable> {
    await this.refreshFromDatabase();
    if (this.table === undefined)
      throw new Error('routing table: not initialised in the global zone');
    this.subscriber.on('message', (channel: string) => {
      if (channel === this.options.keys.channel) this.schedule(() => this.refreshFromRedis());
    });
    await this.subscriber.subscribe(this.options.keys.channel);
    this.timers.push(
      setInterval(
        () => this.schedule(() => this.refreshFromRedis()),
        this.options.redisPollIntervalMs,
      ),
      setInterval(
        () => this.schedule(() => this.refreshFromDatabase()),
        this.options.databasePollIntervalMs,
      ),
    );
    for (const timer of this.timers) timer.unref();
    return this.table;
  }

  current(): RoutingTable {
    if (this.table === undefined) throw new Error('routing follower: not started');
    return this.table;
  }

  onChange(listener: (table: RoutingTable) => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.subscriber.unsubscribe(this.options.keys.channel);
    await this.refreshing;
  }

  /** Refreshes run one after another, so two can never race to install tables out of order. */
  private schedule(refresh: () => Promise<void>): void {
    this.refreshing = this.refreshing.then(refresh).catch(this.onError);
  }

  private async refreshFromRedis(): Promise<void> {
    const epoch = await this.redis.get(this.options.keys.epoch);
    if (epoch === null || (this.table !== undefined && BigInt(epoch) <= this.table.epoch)) return;
    const json = await this.redis.get(this.options.keys.snapshot);
    if (json !== null) this.install(new RoutingTable(deserializeSnapshot(json)));
  }

  private async refreshFromDatabase(): Promise<void> {
    const epoch = await this.store.readEpoch();
    if (epoch === undefined || (this.table !== undefined && epoch <= this.table.epoch)) return;
    const snapshot = await this.store.loadSnapshot();
    if (snapshot === undefined) return;
    const table = new RoutingTable(snapshot);
    this.install(table);
    await publishRoutingTable(this.redis, this.options.keys, table);
  }

  private install(table: RoutingTable): void {
    if (this.table !== undefined && table.epoch <= this.table.epoch) return;
    this.table = table;
    for (const listener of this.listeners) listener(table);
  }
}
