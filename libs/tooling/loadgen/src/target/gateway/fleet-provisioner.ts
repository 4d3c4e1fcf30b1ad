import { execFile } from 'node:child_process';
import { join } from 'node:path';

import {
  credentials as grpcCredentials,
  type GrpcObject,
  loadPackageDefinition,
  Metadata,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

import type { CurrencyCode } from '@cellpay/money';
import { cellProtoPath } from '@cellpay/proto';
import { RoutingTable, type RoutingSnapshot } from '@cellpay/routing';
import { stressTrafficHeader } from '@cellpay/sdk';

import {
  type FleetMerchant,
  idsSpreadOverCells,
  type LoadCredential,
  type LoadFleet,
} from './load-fleet';

/** What an operator does to prepare a load run, through the control plane. */
export interface ControlPlane {
  registerMerchant(merchantId: string, displayName: string): Promise<void>;
  createCredential(request: {
    readonly ownerId: string;
    readonly scopes: readonly string[];
    readonly firstParty: boolean;
    readonly ratePerSecond: number;
    readonly burst: number;
  }): Promise<LoadCredential>;
  routingSnapshot(): Promise<RoutingSnapshot>;
}

/** Opens a merchant's account in its cell (the public API opens user wallets only). */
export type MerchantAccountOpener = (
  cellId: string,
  merchantId: string,
  currency: CurrencyCode,
  stress: boolean,
) => Promise<void>;

/** Bounds of one cellctl call and of the provisioning. */
export const provisionLimits = {
  cellctlTimeoutMs: 60_000,
  cellctlOutputBytesMax: 16 * 1024 * 1024,
  merchantsPerCellMax: 20,
  accountOpenDeadlineMs: 10_000,
  /** IDs tried per merchant before giving up on a cell. */
  attemptsPerMerchantMax: 500,
} as const;

/** Each load credential's own rate limit: far above any rate one generator sends. */
export const loadCredentialRate = { ratePerSecond: 10_000, burst: 20_000 } as const;

/** The control plane as its command line, `cellctl --local`, built by cluster:up. */
export class CellctlControlPlane implements ControlPlane {
  constructor(
    private readonly repositoryRoot: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  async registerMerchant(merchantId: string, displayName: string): Promise<void> {
    await this.run(['merchant-register', merchantId, displayName]);
  }

  async createCredential(
    request: Parameters<ControlPlane['createCredential']>[0],
  ): Promise<LoadCredential> {
    const args = [
      'credential-create',
      '--owner',
      request.ownerId,
      '--scopes',
      request.scopes.join(','),
      '--rate',
      String(request.ratePerSecond),
      '--burst',
      String(request.burst),
    ];
    if (request.firstParty) args.push('--first-party');
    const printed = await this.run(args);
    const keyId = /key id: (\S+)/.exec(printed)?.[1];
    const secret = /secret: (\S+)/.exec(printed)?.[1];
    if (keyId === undefined || secret === undefined) {
      throw new Error(`cellctl credential-create printed no key for ${request.ownerId}`);
    }
    return { keyId, secret: Buffer.from(secret, 'base64url') };
  }

  async routingSnapshot(): Promise<RoutingSnapshot> {
    const parsed = JSON.parse(await this.run(['routes', 'show', '--json'])) as Omit<
      RoutingSnapshot,
      'epoch'
    > & {
      epoch: string;
    };
    return { ...parsed, epoch: BigInt(parsed.epoch) };
  }

  private run(args: readonly string[]): Promise<string> {
    const entry = join(this.repositoryRoot, 'dist', 'apps', 'cellctl', 'main.js');
    return new Promise((resolveRun, reject) => {
      execFile(
        process.execPath,
        [entry, '--local', ...args],
        {
          cwd: this.repositoryRoot,
          env: this.env,
          encoding: 'utf8',
          timeout: provisionLimits.cellctlTimeoutMs,
          maxBuffer: provisionLimits.cellctlOutputBytesMax,
        },
        (error, stdout, stderr) => {
          if (error) {
            reject(new Error(`cellctl ${args[0] ?? ''} failed: ${stderr.trim() || error.message}`));
            return;
          }
          resolveRun(stdout);
        },
      );
    });
  }
}

type OpenAccountMethod = (
  request: object,
  metadata: Metadata,
  options: { deadline: number },
  callback: (error: ServiceError | null) => void,
) => void;

/**
 * Opens merchant accounts through each cell's internal AccountService, as cluster:up does for
 * its demo merchant. Opening is idempotent. With `stress` the call carries the stress mark, so a
 * cell with shadow tables opens the shadow account the merchant's shadow payments credit.
 */
export function cellAccountOpener(
  cellAddresses: ReadonlyMap<string, string>,
): MerchantAccountOpener {
  const root = loadPackageDefinition(
    loadSync(cellProtoPath, { keepCase: false, longs: String, enums: String, defaults: true }),
  );
  const v1 = ((root['cellpay'] as GrpcObject)['cell'] as GrpcObject)['v1'] as GrpcObject;
  const AccountService = v1['AccountService'] as ServiceClientConstructor;
  return async (cellId, merchantId, currency, stress) => {
    const address = cellAddresses.get(cellId);
    if (address === undefined) throw new Error(`no address for ${cellId}; pass --cell-addresses`);
    const client = new AccountService(address, grpcCredentials.createInsecure());
    const openAccount = (client as unknown as Record<string, OpenAccountMethod>)['openAccount'];
    const metadata = new Metadata();
    if (stress) metadata.set(stressTrafficHeader, '1');
    try {
      await new Promise<void>((resolveOpen, reject) =>
        openAccount?.call(
          client,
          { kind: 'merchant', ownerId: merchantId, currency },
          metadata,
          { deadline: Date.now() + provisionLimits.accountOpenDeadlineMs },
          (error) =>
            error
              ? reject(
                  new Error(
                    `opening ${merchantId}'s account in ${cellId} (${address}): ${error.message}`,
                  ),
                )
              : resolveOpen(),
        ),
      );
    } finally {
      client.close();
    }
  };
}

export interface ProvisionOptions {
  readonly controlPlane: ControlPlane;
  readonly openMerchantAccount: MerchantAccountOpener;
  readonly gatewayAddress: string;
  /** The cells that get merchants; the first one's first merchant is the hot merchant. */
  readonly cells: readonly string[];
  readonly merchantsPerCell: number;
  readonly currency: CurrencyCode;
  /** Unique per provisioning: merchant and client IDs start with it. */
  readonly runTag: string;
  readonly log: (line: string) => void;
}

export interface ProvisionedFleet {
  readonly fleet: LoadFleet;
  readonly routing: RoutingTable;
}

/**
 * Registers the run's merchants (spread over the cells by their IDs' slots, one of them hot) and
 * a first-party wallet backend, each with its own credential (stress scope included, so the same
 * fleet sends shadow or live traffic), and opens each merchant's account in its own cell only: a
 * payment from another cell reaches it through cross-cell settlement.
 */
export async function provisionFleet(options: ProvisionOptions): Promise<ProvisionedFleet> {
  if (
    !Number.isInteger(options.merchantsPerCell) ||
    options.merchantsPerCell < 1 ||
    options.merchantsPerCell > provisionLimits.merchantsPerCellMax
  ) {
    throw new Error(
      `merchants per cell must be a whole number within 1..${provisionLimits.merchantsPerCellMax}`,
    );
  }
  const routing = new RoutingTable(await options.controlPlane.routingSnapshot());
  for (const cell of options.cells) {
    if (routing.cell(cell) === undefined) throw new Error(`${cell} is not in the routing table`);
  }
  const cellOfUser = (userId: string): string => routing.routeUser(userId).cellId;
  const idsByCell = idsSpreadOverCells(
    `${options.runTag}-merchant-`,
    options.cells,
    options.merchantsPerCell,
    cellOfUser,
    options.merchantsPerCell * options.cells.length * provisionLimits.attemptsPerMerchantMax,
  );
  options.log(
    `provision: ${options.merchantsPerCell * options.cells.length} merchants over ${options.cells.join(', ')} and a wallet backend (cellctl)`,
  );
  const merchants: FleetMerchant[] = [];
  for (const [cellId, ids] of idsByCell) {
    for (const merchantId of ids) {
      await options.controlPlane.registerMerchant(merchantId, `Load merchant ${merchantId}`);
      const credential = await options.controlPlane.createCredential({
        ownerId: merchantId,
        scopes: ['pay', 'refund', 'read', 'stress'],
        firstParty: false,
        ...loadCredentialRate,
      });
      await options.openMerchantAccount(cellId, merchantId, options.currency, false);
      await options.openMerchantAccount(cellId, merchantId, options.currency, true);
      merchants.push({ merchantId, cellId, hot: merchants.length === 0, credential });
    }
  }
  const walletBackend = await options.controlPlane.createCredential({
    ownerId: `${options.runTag}-wallet-backend`,
    scopes: ['wallet', 'stress'],
    firstParty: true,
    ...loadCredentialRate,
  });
  return {
    fleet: {
      gatewayAddress: options.gatewayAddress,
      currency: options.currency,
      walletBackend,
      merchants,
    },
    routing,
  };
}
