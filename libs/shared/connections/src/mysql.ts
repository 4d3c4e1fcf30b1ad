import { createPool, type Pool, type PoolOptions } from 'mysql2/promise';

import { ConfigError } from '@cellpay/config';

export interface MysqlEndpoint {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database?: string;
}

export interface MysqlPoolLimits {
  readonly connectionsMax: number;
  readonly queuedRequestsMax: number;
  readonly connectTimeoutMs: number;
}

export const mysqlPoolLimitsDefault: MysqlPoolLimits = {
  connectionsMax: 16,
  queuedRequestsMax: 1_000,
  connectTimeoutMs: 5_000,
};

/**
 * A mysql2 pool with every option that matters for money set explicitly: BIGINT and DECIMAL come
 * back as strings (never as a lossy JS number) so repositories can turn them into bigint, dates are
 * UTC, and both the pool and its wait queue are bounded.
 */
export function createMysqlPool(
  endpoint: MysqlEndpoint,
  limits: MysqlPoolLimits = mysqlPoolLimitsDefault,
): Pool {
  const options: PoolOptions = {
    host: endpoint.host,
    port: endpoint.port,
    user: endpoint.user,
    password: endpoint.password,
    ...(endpoint.database === undefined ? {} : { database: endpoint.database }),
    connectionLimit: limits.connectionsMax,
    queueLimit: limits.queuedRequestsMax,
    waitForConnections: true,
    connectTimeout: limits.connectTimeoutMs,
    enableKeepAlive: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: false,
    timezone: 'Z',
    multipleStatements: false,
    namedPlaceholders: false,
    charset: 'utf8mb4_bin',
  };
  return createPool(options);
}

/**
 * Parses `mysql://user:password@host:port/database` (user and password URL-encoded); a malformed
 * URL is a ConfigError that names the variable it came from.
 */
export function mysqlEndpointOf(url: string, variable = 'CELLPAY_MYSQL_URL'): MysqlEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(variable, 'is not a URL');
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (parsed.protocol !== 'mysql:' || parsed.hostname === '' || database === '') {
    throw new ConfigError(variable, 'must look like mysql://user:password@host:port/database');
  }
  return {
    host: parsed.hostname,
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}
