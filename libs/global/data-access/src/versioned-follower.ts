import type Redis from 'ioredis';

/** A document of the global zone with a version that only grows (routing table, switches). */
export interface Versioned<T> {
  readonly version: bigint;
  readonly value: T;
}

/** Where the committed document lives (MySQL): a cheap version read and a full load. */
export interface VersionedSource<T> {
  readVersion(): Promise<bigint | undefined>;
  load(): Promise<Versioned<T> | undefined>;
}

export interface VersionedCodec<T> {
  serialize(value: T): string;
  /** Parses and validates; throws on a document that must not be installed. */
  deserialize(json: string): T;
}

export interface RedisDocumentKeys {
  readonly document: string;
  readonly version: string;
  readonly channel: string;
}

export function redisDocumentKeys(prefix: string, name: string): RedisDocumentKeys {
  return {
    document: `${prefix}:${name}:document`,
    version: `${prefix}:${name}:version`,
    channel: `${prefix}:${name}:changed`,
  };
}

// Compare-and-set on the version: a slow writer can never put an older document over a newer one.
const publishScript = `
local current = tonumber(redis.call('GET', KEYS[2]) or '-1')
if current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('SET', KEYS[1], ARGV[2])
redis.call('PUBLISH', KEYS[3], ARGV[1])
return 1`;

/** Puts a committed document into the Redis cache and tells every follower; false if stale. */
export async function publishVersioned(
  redis: Redis,
  keys: RedisDocumentKeys,
  version: bigint,
  json: string,
): Promise<boolean> {
  const result = await redis.eval(
    publishScript,
    3,
    keys.document,
    keys.version,
    keys.channel,
    version.toString(),
    json,
  );
  return result === 1;
}

export interface FollowerOptions {
  readonly keys: RedisDocumentKeys;
  /** A cheap GET of the version in Redis, in case a pub/sub message was missed. */
  readonly redisPollIntervalMs: number;
  /** A single-row read of the version in MySQL, in case Redis itself missed a publication. */
  readonly databasePollIntervalMs: number;
}

export const followerDefaults: Omit<FollowerOptions, 'keys'> = {
  redisPollIntervalMs: 500,
  databasePollIntervalMs: 5_000,
};

/**
 * Holds the current version of a global-zone document in process memory and follows its changes
 * within a second: pub/sub for speed, a poll of the Redis version for missed messages, and a slower
 * poll of the database for a cache that missed a publication (which it then repairs). The document
 * in memory only moves forward; refreshes never overlap. All of it runs off the request path: a
 * request reads `current()` from memory.
 */
export class VersionedFollower<T> {
  private installed: Versioned<T> | undefined;
  private readonly listeners: ((document: Versioned<T>) => void)[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private refreshing: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: VersionedSource<T>,
    private readonly codec: VersionedCodec<T>,
    private readonly redis: Redis,
    private readonly subscriber: Redis,
    private readonly options: FollowerOptions,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  async start(): Promise<Versioned<T>> {
    await this.refreshFromDatabase();
    if (this.installed === undefined)
      throw new Error(`${this.options.keys.document}: not initialised`);
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
    return this.installed;
  }

  current(): Versioned<T> {
    if (this.installed === undefined) throw new Error(`${this.options.keys.document}: not started`);
    return this.installed;
  }

  onChange(listener: (document: Versioned<T>) => void): void {
    this.listeners.push(listener);
  }

  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    await this.subscriber.unsubscribe(this.options.keys.channel);
    await this.refreshing;
  }

  private schedule(refresh: () => Promise<void>): void {
    this.refreshing = this.refreshing.then(refresh).catch(this.onError);
  }

  private isNewer(version: bigint): boolean {
    return this.installed === undefined || version > this.installed.version;
  }

  private async refreshFromRedis(): Promise<void> {
    const version = await this.redis.get(this.options.keys.version);
    if (version === null || !this.isNewer(BigInt(version))) return;
    const json = await this.redis.get(this.options.keys.document);
    if (json === null) return;
    // The document carries its own version; install that, not the (possibly newer) key read first.
    const parsed = JSON.parse(json) as { version: string; value: string };
    this.install({ version: BigInt(parsed.version), value: this.codec.deserialize(parsed.value) });
  }

  private async refreshFromDatabase(): Promise<void> {
    const version = await this.source.readVersion();
    if (version === undefined || !this.isNewer(version)) return;
    const document = await this.source.load();
    if (document === undefined) return;
    this.install(document);
    await publish(this.redis, this.options.keys, this.codec, document);
  }

  private install(document: Versioned<T>): void {
    if (!this.isNewer(document.version)) return;
    this.installed = document;
    for (const listener of this.listeners) listener(document);
  }
}

/** Publishes a committed document in the envelope followers read. */
export function publish<T>(
  redis: Redis,
  keys: RedisDocumentKeys,
  codec: VersionedCodec<T>,
  document: Versioned<T>,
): Promise<boolean> {
  const envelope = JSON.stringify({
    version: document.version.toString(),
    value: codec.serialize(document.value),
  });
  return publishVersioned(redis, keys, document.version, envelope);
}
