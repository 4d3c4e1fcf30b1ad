import { existsSync, readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';

/** Where the local cluster (`npm run cluster:up`) keeps its state, and how to reach it. */
export interface LocalClusterSettings {
  readonly repositoryRoot: string;
  /** cluster:up's state folder: pids.json, credentials.json, logs. */
  readonly clusterDir: string;
  /** tools/infra's state folder: endpoints.json (the cells, in order). */
  readonly infraDir: string;
  /** cluster:up puts cell N (1-based, in endpoints.json order) on cellPortBase + N. */
  readonly cellPortBase: number;
  /** host:port of the gateway; by default the address in credentials.json. */
  readonly gatewayAddress: string | undefined;
  /** `cell-1=host:port,...`; by default derived from cellPortBase. */
  readonly cellAddresses: string | undefined;
}

/** The cluster as found: where its gateway and cells answer, and its processes. */
export interface LocalCluster {
  readonly gatewayAddress: string;
  readonly cellAddresses: ReadonlyMap<string, string>;
  /** cluster:up's processes by name (`gateway`, `cell-1`, `relay-cell-1`, ...). */
  readonly pids: Readonly<Record<string, number>>;
}

/** The cluster is not up (or not where the settings point): the message says what to do. */
export class LocalClusterNotFoundError extends Error {}

/** Settings from the environment cluster:up itself reads, so the same exports find the same cluster. */
export function localClusterSettingsFromEnv(
  env: NodeJS.ProcessEnv,
  repositoryRoot: string,
): LocalClusterSettings {
  return {
    repositoryRoot,
    clusterDir: resolve(env['CELLPAY_CLUSTER_DIR'] ?? join(repositoryRoot, 'tmp', 'cluster')),
    infraDir: resolve(env['CELLPAY_INFRA_DIR'] ?? join(repositoryRoot, '.infra')),
    cellPortBase: Number(env['CELLPAY_CLUSTER_CELL_PORT_BASE'] ?? 50060),
    gatewayAddress: undefined,
    cellAddresses: undefined,
  };
}

/** Time allowed to connect to the gateway's port when checking that the cluster is up. */
const gatewayProbeTimeoutMs = 2_000;

function readJson(path: string, what: string): unknown {
  if (!existsSync(path)) {
    throw new LocalClusterNotFoundError(
      `no local cluster found: ${path} (${what}) does not exist. Start one with 'npm run cluster:up' ` +
        '(with the same CELLPAY_CLUSTER_DIR / CELLPAY_INFRA_DIR), pass --cluster-dir, or use --target fake.',
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

export function parseAddressList(text: string): Map<string, string> {
  const addresses = new Map<string, string>();
  for (const part of text.split(',')) {
    const [cellId, address, extra] = part.split('=').map((piece) => piece.trim());
    if (
      cellId === undefined ||
      cellId === '' ||
      address === undefined ||
      !/^[^:]+:\d{1,5}$/.test(address) ||
      extra !== undefined
    ) {
      throw new Error(`cell address "${part}" is not <cell>=<host>:<port>`);
    }
    addresses.set(cellId, address);
  }
  return addresses;
}

function probe(address: string): Promise<boolean> {
  const [host = '127.0.0.1', port = '0'] = address.split(':');
  return new Promise((resolveProbe) => {
    const socket = createConnection({ host, port: Number(port), timeout: gatewayProbeTimeoutMs });
    const done = (open: boolean): void => {
      socket.destroy();
      resolveProbe(open);
    };
    socket.once('connect', () => done(true));
    socket.once('timeout', () => done(false));
    socket.once('error', () => done(false));
  });
}

/** Finds the cluster cluster:up started and checks that its gateway answers. */
export async function locateLocalCluster(settings: LocalClusterSettings): Promise<LocalCluster> {
  const credentials = readJson(
    join(settings.clusterDir, 'credentials.json'),
    'cluster credentials',
  ) as {
    address?: unknown;
  };
  const pids = readJson(join(settings.clusterDir, 'pids.json'), 'cluster processes') as Record<
    string,
    number
  >;
  const gatewayAddress = settings.gatewayAddress ?? String(credentials.address ?? '');
  if (!(await probe(gatewayAddress))) {
    throw new LocalClusterNotFoundError(
      `the local cluster's gateway does not answer at ${gatewayAddress || '(no address)'} (${settings.clusterDir}): ` +
        "start it with 'npm run cluster:up', or pass --gateway <host:port>.",
    );
  }
  let cellAddresses: Map<string, string>;
  if (settings.cellAddresses !== undefined) {
    cellAddresses = parseAddressList(settings.cellAddresses);
  } else {
    const endpoints = readJson(
      join(settings.infraDir, 'endpoints.json'),
      'infrastructure endpoints',
    ) as {
      cells?: { id: string }[];
    };
    cellAddresses = new Map(
      (endpoints.cells ?? []).map((cell, index) => [
        cell.id,
        `127.0.0.1:${settings.cellPortBase + index + 1}`,
      ]),
    );
  }
  return { gatewayAddress, cellAddresses, pids };
}
