import { readInfraEndpoints } from '@cellpay/config';
import type { ReplicationCredentials } from '@cellpay/failover';

export interface ShardAccess {
  /** An account on the shard servers that may fence, promote and repoint replication. */
  readonly admin: { readonly user: string; readonly password: string };
  readonly replication: ReplicationCredentials;
}

/**
 * The shard credentials a failover needs: with --local the ones tools/infra created, otherwise
 * CELLPAY_SHARD_ADMIN_USER/_PASSWORD and CELLPAY_REPLICATION_USER/_PASSWORD.
 */
export function resolveShardAccess(local: boolean, env: NodeJS.ProcessEnv): ShardAccess {
  if (local) {
    const infra = readInfraEndpoints();
    return {
      admin: { user: infra.mysql.user, password: infra.mysql.password },
      replication: { user: 'repl', password: 'repl' },
    };
  }
  const names = [
    'CELLPAY_SHARD_ADMIN_USER',
    'CELLPAY_SHARD_ADMIN_PASSWORD',
    'CELLPAY_REPLICATION_USER',
    'CELLPAY_REPLICATION_PASSWORD',
  ];
  const missing = names.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`set ${missing.join(', ')} (or pass --local)`);
  return {
    admin: {
      user: env['CELLPAY_SHARD_ADMIN_USER'] ?? '',
      password: env['CELLPAY_SHARD_ADMIN_PASSWORD'] ?? '',
    },
    replication: {
      user: env['CELLPAY_REPLICATION_USER'] ?? '',
      password: env['CELLPAY_REPLICATION_PASSWORD'] ?? '',
    },
  };
}
