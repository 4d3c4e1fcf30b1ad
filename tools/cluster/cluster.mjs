#!/usr/bin/env node
// `npm run cluster:up` / `cluster:down`: the platform as real processes (three cells, one relay
// per cell and the gateway) on the real infrastructure of tools/infra (which must be up:
// `npm run infra:up`).
// up: builds the apps, migrates the global zone and the shards (cell and settlement tables),
// writes the first routing table if there is none, registers the demo merchant and wallet backend
// with fresh credentials, opens the merchant's account in every cell, starts the processes and
// waits until the gateway answers.
// down: stops, by pid, exactly the processes that up started.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..', '..');
const stateDir = resolve(process.env.CELLPAY_CLUSTER_DIR ?? join(root, 'tmp', 'cluster'));
const pidsFile = join(stateDir, 'pids.json');
const infraDir = resolve(process.env.CELLPAY_INFRA_DIR ?? join(root, '.infra'));
const gatewayPort = Number(process.env.CELLPAY_CLUSTER_GATEWAY_PORT ?? 50051);
const gatewayOpsPort = Number(process.env.CELLPAY_CLUSTER_GATEWAY_OPS_PORT ?? 9464);
const cellPortBase = Number(process.env.CELLPAY_CLUSTER_CELL_PORT_BASE ?? 50060);
const waitMsMax = 30_000;

function run(args, env = {}) {
  return execFileSync(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

function cellctl(...args) {
  return run(['dist/apps/cellctl/main.js', '--local', ...args]);
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Our process only: a recycled pid running something else is never signalled. */
function ours(pid) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(root, 'dist', 'apps'));
  } catch {
    return false;
  }
}

function portOpen(port) {
  return new Promise((resolvePort) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolvePort(true);
    });
    socket.once('error', () => resolvePort(false));
  });
}

async function waitForPort(port, name) {
  for (let waitedMs = 0; waitedMs < waitMsMax; waitedMs += 200) {
    if (await portOpen(port)) return;
    await new Promise((next) => setTimeout(next, 200));
  }
  throw new Error(`${name} did not open port ${port} within ${waitMsMax} ms; see ${stateDir}`);
}

function start(name, entry, args, env) {
  const log = openSync(join(stateDir, `${name}.log`), 'a');
  const child = spawn(process.execPath, [join(root, entry), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  return child.pid;
}

async function up() {
  if (existsSync(pidsFile)) {
    const running = Object.values(JSON.parse(readFileSync(pidsFile, 'utf8'))).filter(alive);
    if (running.length > 0)
      throw new Error(`the cluster already runs (${pidsFile}); cluster:down first`);
  }
  const endpoints = JSON.parse(readFileSync(join(infraDir, 'endpoints.json'), 'utf8'));
  const { user, password, host } = endpoints.mysql;
  const mysqlUrl = (port, database) => `mysql://${user}:${password}@${host}:${port}/${database}`;
  const globalUrl = mysqlUrl(endpoints.global.port, endpoints.global.database);
  const redisUrl = `redis://${endpoints.redis.host}:${endpoints.redis.port}`;
  mkdirSync(stateDir, { recursive: true });

  for (const app of ['apps/cellctl', 'apps/cell', 'apps/relay', 'apps/gateway']) {
    run(['tools/scripts/build-app.mjs', app]);
  }
  cellctl('migrate-global');
  try {
    cellctl('routes', 'show', '--json');
  } catch {
    const cells = endpoints.cells.map((cell) => `${cell.id}:local:local`).join(',');
    cellctl('routes', 'init', '--cells', cells, '--yes');
  }
  // The shard topology (which node is each cell's primary): the cells follow it after a failover.
  try {
    cellctl('topology', 'show', '--json');
  } catch {
    cellctl('topology', 'load', '--from-local-infra', '--yes');
  }
  const kek = readFileSync(join(infraDir, 'credential-kek'), 'utf8').trim();
  // Cells serve with the data-only account when the infrastructure has it (a fence stops it);
  // migrations keep the admin account.
  const data = endpoints.mysqlData ?? { user, password };
  const dataUrl = (port, database) =>
    `mysql://${data.user}:${data.password}@${host}:${port}/${database}`;

  const pids = {};
  const addresses = [];
  for (const [index, cell] of endpoints.cells.entries()) {
    const env = {
      CELLPAY_CELL_ID: cell.id,
      CELLPAY_MYSQL_URL: mysqlUrl(cell.primary.port, cell.database),
      CELLPAY_GRPC_PORT: String(cellPortBase + index + 1),
      // Every cell would otherwise take the default ops port (9465) and all but one fail; a free
      // port also keeps several clusters on one machine apart.
      CELLPAY_OPS_PORT: '0',
      CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
      CELLPAY_REDIS_URL: redisUrl,
      LOG_LEVEL: 'info',
    };
    run(['dist/apps/cell/main.js', 'migrate'], env);
    pids[cell.id] = start(cell.id, 'dist/apps/cell/main.js', ['serve'], {
      ...env,
      CELLPAY_MYSQL_URL: dataUrl(cell.primary.port, cell.database),
      CELLPAY_FOLLOW_TOPOLOGY: 'true',
    });
    addresses.push(`${cell.id}=127.0.0.1:${cellPortBase + index + 1}`);
  }
  writeFileSync(pidsFile, JSON.stringify(pids, null, 2));
  for (const [index, cell] of endpoints.cells.entries()) {
    await waitForPort(cellPortBase + index + 1, cell.id);
  }
  // One relay per cell: it publishes the cell's outbox to Kafka and applies the events other
  // cells send it (cross-cell payments settle only while relays run). It creates its own topics.
  for (const cell of endpoints.cells) {
    pids[`relay-${cell.id}`] = start(`relay-${cell.id}`, 'dist/apps/relay/main.js', [], {
      CELLPAY_CELL_ID: cell.id,
      CELLPAY_MYSQL_URL: mysqlUrl(cell.primary.port, cell.database),
      CELLPAY_KAFKA_BROKERS: endpoints.kafka.brokers.join(','),
      CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
      CELLPAY_REDIS_URL: redisUrl,
      // Relays serve only metrics and health; a free port keeps several clusters apart.
      CELLPAY_OPS_PORT: '0',
      LOG_LEVEL: 'info',
    });
  }
  writeFileSync(pidsFile, JSON.stringify(pids, null, 2));

  // The demo merchant's account: a payer in the merchant's own cell (the cell of its ID) pays it
  // there; a payer elsewhere pays it across cells, credited in that cell when settled. It is
  // opened in every cell so the demo keeps working after slot moves change the merchant's cell.
  const grpc = await import('@grpc/grpc-js');
  const loader = await import('@grpc/proto-loader');
  const definition = loader.loadSync(
    join(root, 'libs/shared/proto/proto/cellpay/cell/v1/cell.proto'),
    {
      keepCase: false,
      longs: String,
      defaults: true,
    },
  );
  const AccountService = grpc.loadPackageDefinition(definition).cellpay.cell.v1.AccountService;
  for (const [index] of endpoints.cells.entries()) {
    const client = new AccountService(
      `127.0.0.1:${cellPortBase + index + 1}`,
      grpc.credentials.createInsecure(),
    );
    await new Promise((resolveOpen, reject) =>
      client.openAccount(
        { kind: 'merchant', ownerId: 'demo-merchant', currency: 'CNY' },
        { deadline: Date.now() + 5_000 },
        (error) => (error ? reject(error) : resolveOpen()),
      ),
    );
    client.close();
  }

  cellctl('merchant-register', 'demo-merchant', 'Demo merchant');
  const profiles = {};
  for (const [owner, scopes, firstParty] of [
    ['demo-merchant', 'pay,refund,read', false],
    ['demo-wallet-backend', 'wallet', true],
  ]) {
    const args = [
      'credential-create',
      '--owner',
      owner,
      '--scopes',
      scopes,
      '--rate',
      '2000',
      '--burst',
      '4000',
    ];
    if (firstParty) args.push('--first-party');
    const printed = cellctl(...args);
    const keyId = /key id: (\S+)/.exec(printed)?.[1];
    const secret = /secret: (\S+)/.exec(printed)?.[1];
    if (keyId === undefined || secret === undefined)
      throw new Error(`credential-create printed no key for ${owner}`);
    profiles[owner] = { keyId, secretHex: Buffer.from(secret, 'base64url').toString('hex') };
  }
  const credentialsFile = join(stateDir, 'credentials.json');
  writeFileSync(
    credentialsFile,
    `${JSON.stringify({ address: `127.0.0.1:${gatewayPort}`, profiles }, null, 2)}\n`,
    { mode: 0o600 },
  );

  pids.gateway = start('gateway', 'dist/apps/gateway/main.js', [], {
    CELLPAY_GRPC_PORT: String(gatewayPort),
    CELLPAY_OPS_PORT: String(gatewayOpsPort),
    CELLPAY_GLOBAL_MYSQL_URL: globalUrl,
    CELLPAY_REDIS_URL: redisUrl,
    CELLPAY_CREDENTIAL_KEK: kek,
    CELLPAY_CELL_ADDRESSES: addresses.join(','),
  });
  writeFileSync(pidsFile, JSON.stringify(pids, null, 2));
  await waitForPort(gatewayPort, 'gateway');
  process.stdout.write(
    [
      `cellpay cluster is up: gateway 127.0.0.1:${gatewayPort} (ops ${gatewayOpsPort}), ${addresses.join(', ')}`,
      `logs and pids: ${stateDir}`,
      `credentials: ${credentialsFile} (mode 600)`,
      'try:',
      `  CELLPAY_CREDENTIALS_FILE=${credentialsFile} npm run -s cellpay -- open-account --merchant demo-wallet-backend --user alice --currency CNY`,
      '',
    ].join('\n'),
  );
}

async function down() {
  if (!existsSync(pidsFile)) {
    process.stdout.write('no cluster to stop\n');
    return;
  }
  const pids = JSON.parse(readFileSync(pidsFile, 'utf8'));
  // The gateway first, so it drains its calls while the cells still answer; relays stop with the
  // cells (what they have not published stays in the outbox for the next start).
  for (const name of ['gateway', ...Object.keys(pids).filter((name) => name !== 'gateway')]) {
    const pid = pids[name];
    if (pid === undefined || !alive(pid) || !ours(pid)) continue;
    process.kill(pid, 'SIGTERM');
    for (let waitedMs = 0; waitedMs < 15_000 && alive(pid); waitedMs += 100) {
      await new Promise((next) => setTimeout(next, 100));
    }
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    process.stdout.write(`stopped ${name} (pid ${pid})\n`);
  }
  rmSync(pidsFile);
}

const command = process.argv[2];
const actions = { up, down };
if (!(command in actions)) {
  process.stderr.write('usage: cluster.mjs up|down\n');
  process.exit(2);
}
actions[command]().catch((error) => {
  process.stderr.write(
    `cluster ${command}: ${error instanceof Error ? error.message : String(error)}\n`,
  );
  if (error?.stderr) process.stderr.write(String(error.stderr));
  process.exitCode = 1;
});
