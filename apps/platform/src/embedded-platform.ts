import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer } from 'node:net';

import type { INestMicroservice } from '@nestjs/common';

import { MemoryCellStore, RandomIdGenerator, SystemClock } from '@cellpay/cell-data-access';
import { startCellGrpcServer } from '@cellpay/cell-server';
import {
  Authenticator,
  type CellBreakerOptions,
  CellBreakers,
  cellBreakerDefaults,
  type CredentialView,
  type Scope,
} from '@cellpay/gateway-edge';
import {
  createMemoryAuthenticatorPorts,
  GatewayService,
  type GatewayServer,
  GrpcCellTransport,
  isCellFailure,
  requiredScopes,
  startGatewayServer,
} from '@cellpay/gateway-server';
import type { Logger } from '@cellpay/observability';
import { type CellRoute, evenlySpreadSnapshot, RoutingTable } from '@cellpay/routing';
import {
  ApplySettlementEventUseCase,
  CellOutboxSource,
  MemorySettlementStore,
  routerOf,
  settlementGrpcExtension,
} from '@cellpay/settlement-cell';

import { InProcessSettlementBus } from './in-process-settlement';

/** A routing table held in memory that tests (and a future embedded cellctl) can change. */
export class MemoryRouting {
  private table: RoutingTable;

  constructor(initial: RoutingTable) {
    this.table = initial;
  }

  current(): RoutingTable {
    return this.table;
  }

  /** Installs a newer table; an older or equal epoch is a bug of the caller. */
  install(table: RoutingTable): void {
    if (table.epoch <= this.table.epoch) {
      throw new Error(`epoch ${table.epoch} is not newer than ${this.table.epoch}`);
    }
    this.table = table;
  }
}

export interface DemoCredential {
  readonly keyId: string;
  readonly ownerId: string;
  readonly scopes: readonly Scope[];
  /** Hex; shown once to the developer who started the platform, never logged. */
  readonly secretHex: string;
}

export interface EmbeddedPlatformOptions {
  readonly cellCount: number;
  readonly slotCount: number;
  readonly gatewayPort: number;
  readonly host: string;
  readonly logger: Logger;
  readonly breaker?: Partial<Omit<CellBreakerOptions, 'isCellFailure'>>;
  readonly cellCallDeadlineMs?: number;
  /**
   * Lets the gateway follow its own copy of the table (tests of a stale router); by default the
   * gateway and the cells share one.
   */
  readonly separateGatewayRouting?: boolean;
}

export interface EmbeddedCell {
  readonly cellId: string;
  readonly address: string;
  readonly port: number;
  app: INestMicroservice | undefined;
  readonly store: MemoryCellStore;
  /** Settlement's outbox, inbox and sagas of this cell, next to its shard. */
  readonly settlementStore: MemorySettlementStore;
}

export interface EmbeddedPlatform {
  readonly gatewayAddress: string;
  readonly gatewayPort: number;
  readonly cells: readonly EmbeddedCell[];
  /** The table the cells check ownership against. */
  readonly routing: MemoryRouting;
  /** The table the gateway routes by (the same object unless separateGatewayRouting). */
  readonly gatewayRouting: MemoryRouting;
  readonly breakers: CellBreakers;
  readonly transport: GrpcCellTransport;
  readonly credentials: readonly DemoCredential[];
  /** Carries cross-cell settlement events between the cells (relay, Kafka and consumer in one). */
  readonly settlement: InProcessSettlementBus;
  /** Registers one more credential (tests: scopes, other merchants). */
  addCredential(
    ownerId: string,
    scopes: readonly Scope[],
    ownerKind?: 'merchant' | 'first_party',
  ): DemoCredential;
  /** Stops one cell's server, as if its process died (drills and tests). */
  killCell(cellId: string): Promise<void>;
  /** Starts a killed cell again on its port, with its state (the in-memory shard survived). */
  reviveCell(cellId: string): Promise<void>;
  close(): Promise<void>;
}

/** A port the OS just handed out, so runs on a shared machine do not collide. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export const demoMerchantId = 'demo-merchant';
export const demoWalletBackendId = 'demo-wallet-backend';
export const demoCurrency = 'CNY';

/**
 * The whole platform in one process on the embedded default: N cells (each its own in-memory
 * shard behind its own gRPC server, exactly the server the cell process runs, slot guard on) and
 * the gateway in front of them (the same gateway code as the real process, with credentials,
 * nonces and rate limits in memory). Cross-cell payments settle through an in-process bus in
 * place of the relay, Kafka and the inbox consumer. Cells and gateway still talk gRPC over loopback, so every
 * call crosses the same wire and error mapping as in production.
 */
export async function startEmbeddedPlatform(
  options: EmbeddedPlatformOptions,
): Promise<EmbeddedPlatform> {
  const cellRoutes: CellRoute[] = Array.from({ length: options.cellCount }, (_, index) => ({
    cellId: `cell-${index + 1}`,
    homeRegion: 'local',
    standbyRegion: 'local',
    activeRegion: 'local',
    state: 'active',
  }));
  const routing = new MemoryRouting(
    new RoutingTable(evenlySpreadSnapshot(cellRoutes, options.slotCount, 1n)),
  );
  const gatewayRouting = options.separateGatewayRouting
    ? new MemoryRouting(routing.current())
    : routing;
  const clock = new SystemClock();
  const cells: EmbeddedCell[] = [];
  const startCell = async (cell: EmbeddedCell): Promise<void> => {
    cell.app = await startCellGrpcServer(
      {
        unitOfWork: cell.store,
        clock,
        idGenerator: new RandomIdGenerator(clock),
        glPostingSwitch: { isGlPostingDeferred: () => false },
        settings: { cellId: cell.cellId, slotCount: options.slotCount },
      },
      {
        port: cell.port,
        logger: options.logger,
        routing,
        host: '127.0.0.1',
        extensions: [
          settlementGrpcExtension({
            store: cell.settlementStore,
            router: routerOf(() => routing.current()),
          }),
        ],
      },
    );
  };
  for (const route of cellRoutes) {
    const port = await freePort();
    const cell: EmbeddedCell = {
      cellId: route.cellId,
      port,
      address: `127.0.0.1:${port}`,
      app: undefined,
      store: new MemoryCellStore(),
      settlementStore: new MemorySettlementStore(),
    };
    await startCell(cell);
    cells.push(cell);
  }
  const settlement = new InProcessSettlementBus(
    cells.map((cell) => ({
      cellId: cell.cellId,
      outbox: new CellOutboxSource(cell.store, cell.settlementStore),
      applier: () => cell.app?.get(ApplySettlementEventUseCase, { strict: false }),
    })),
    options.logger,
  );
  settlement.start();
  const transport = new GrpcCellTransport(
    new Map(cells.map((cell) => [cell.cellId, cell.address])),
  );
  const credentialViews: CredentialView[] = [];
  const credentials: DemoCredential[] = [];
  const addCredential = (
    ownerId: string,
    scopes: readonly Scope[],
    ownerKind: 'merchant' | 'first_party' = 'merchant',
  ): DemoCredential => {
    const secret = randomBytes(32);
    const keyId = `key_${randomBytes(12).toString('hex')}`;
    credentialViews.push({
      keyId,
      ownerId,
      ownerKind,
      scopes: new Set(scopes),
      ratePerSecond: 2_000,
      burst: 4_000,
      secret,
    });
    const credential = { keyId, ownerId, scopes, secretHex: secret.toString('hex') };
    credentials.push(credential);
    return credential;
  };
  addCredential(demoMerchantId, ['pay', 'refund', 'read']);
  addCredential(demoWalletBackendId, ['wallet'], 'first_party');
  const ports = createMemoryAuthenticatorPorts({ credentials: [] });
  // Credentials added later (tests) must be visible: look them up in the live list.
  const authenticator = new Authenticator(
    {
      ...ports,
      findCredential: (keyId) =>
        Promise.resolve(credentialViews.find((credential) => credential.keyId === keyId)),
    },
    requiredScopes,
  );
  const breakers = new CellBreakers({
    ...cellBreakerDefaults,
    ...options.breaker,
    isCellFailure,
  });
  const service = new GatewayService({
    authenticator,
    routing: gatewayRouting,
    transport,
    breakers,
    options:
      options.cellCallDeadlineMs === undefined
        ? {}
        : { cellCallDeadlineMs: options.cellCallDeadlineMs },
  });
  const gateway: GatewayServer = await startGatewayServer({
    host: options.host,
    port: options.gatewayPort,
    service,
    logger: options.logger,
  });
  const cellNamed = (cellId: string): EmbeddedCell => {
    const cell = cells.find((candidate) => candidate.cellId === cellId);
    if (cell === undefined) throw new Error(`no cell ${cellId}`);
    return cell;
  };
  return {
    gatewayAddress: `127.0.0.1:${gateway.port}`,
    gatewayPort: gateway.port,
    cells,
    routing,
    gatewayRouting,
    breakers,
    transport,
    credentials,
    settlement,
    addCredential,
    killCell: async (cellId) => {
      const cell = cellNamed(cellId);
      await cell.app?.close();
      cell.app = undefined;
    },
    reviveCell: async (cellId) => {
      const cell = cellNamed(cellId);
      if (cell.app === undefined) await startCell(cell);
    },
    close: async () => {
      await gateway.shutdown();
      breakers.shutdown();
      transport.close();
      await settlement.stop();
      for (const cell of cells) await cell.app?.close();
    },
  };
}
