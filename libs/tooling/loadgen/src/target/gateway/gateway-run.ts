import { randomBytes } from 'node:crypto';

import type { CurrencyCode } from '@cellpay/money';
import { CellpayClient } from '@cellpay/sdk';

import {
  CellctlControlPlane,
  cellAccountOpener,
  provisionFleet,
  type ProvisionedFleet,
} from './fleet-provisioner';
import { GatewayTarget } from './gateway.target';
import type { GatewayClientFactory } from './load-fleet';
import { type LocalCluster, type LocalClusterSettings, locateLocalCluster } from './local-cluster';

/** What a run against the local cluster's gateway needs besides the mix and the profile. */
export interface GatewayRunSettings {
  readonly cluster: LocalClusterSettings;
  /** Environment for cellctl (CELLPAY_INFRA_DIR and the like). */
  readonly env: NodeJS.ProcessEnv;
  /** The cells the run uses; all cells of the routing table when empty. */
  readonly cells: readonly string[];
  readonly payers: number;
  readonly merchantsPerCell: number;
  readonly topUpMinor: bigint;
  /** Live traffic instead of shadow (stress) traffic. */
  readonly live: boolean;
  readonly currency: CurrencyCode;
}

/** Deadline of one SDK call of the generator (a slow answer counts as its latency). */
export const loadCallDeadlineMs = 10_000;

/**
 * The generator's SDK clients do not retry: a refusal is what the load test must see, and a
 * retry would hide it and double the load. Everything else is the SDK as merchants use it.
 */
export function sdkClientFactory(address: string): GatewayClientFactory {
  return (credential, stress) =>
    new CellpayClient({
      address,
      keyId: credential.keyId,
      secret: credential.secret,
      stress,
      retriesMax: 0,
      deadlineMs: loadCallDeadlineMs,
    });
}

/** A fresh tag for IDs of one run: merchants, wallets and order numbers never collide across runs. */
export function newRunTag(): string {
  return `lg${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
}

export interface LocalGatewayFleet extends ProvisionedFleet {
  readonly cluster: LocalCluster;
  /** The cells the run uses. */
  readonly cells: readonly string[];
}

/** Finds the local cluster and provisions a fleet on it (merchants, credentials, accounts). */
export async function provisionLocalFleet(
  settings: GatewayRunSettings,
  log: (line: string) => void,
): Promise<LocalGatewayFleet> {
  const cluster = await locateLocalCluster(settings.cluster);
  const controlPlane = new CellctlControlPlane(settings.cluster.repositoryRoot, {
    ...settings.env,
    CELLPAY_INFRA_DIR: settings.cluster.infraDir,
  });
  const snapshot = await controlPlane.routingSnapshot();
  const cells =
    settings.cells.length > 0
      ? settings.cells
      : snapshot.cells.filter((cell) => cell.state === 'active').map((cell) => cell.cellId);
  const provisioned = await provisionFleet({
    controlPlane,
    openMerchantAccount: cellAccountOpener(cluster.cellAddresses),
    gatewayAddress: cluster.gatewayAddress,
    cells,
    merchantsPerCell: settings.merchantsPerCell,
    currency: settings.currency,
    runTag: newRunTag(),
    log,
  });
  return { ...provisioned, cluster, cells };
}

/** A gateway target on a provisioned fleet; its payers are set up when the run opens it. */
export function gatewayTargetOn(
  provisioned: LocalGatewayFleet,
  settings: Pick<GatewayRunSettings, 'payers' | 'topUpMinor' | 'live'> & {
    readonly cells?: readonly string[];
    readonly crossCell: boolean;
    readonly seed: number;
  },
  log: (line: string) => void,
  clientFactory: GatewayClientFactory = sdkClientFactory(provisioned.fleet.gatewayAddress),
): GatewayTarget {
  return new GatewayTarget({
    fleet: provisioned.fleet,
    clientFactory,
    cellOfUser: (userId) => provisioned.routing.routeUser(userId).cellId,
    cells: settings.cells ?? provisioned.cells,
    payers: settings.payers,
    topUpMinor: settings.topUpMinor,
    amountMinorMin: 100n,
    amountStepMinor: 100n,
    stress: !settings.live,
    crossCell: settings.crossCell,
    runTag: newRunTag(),
    seed: settings.seed,
    log,
  });
}
