import type Redis from 'ioredis';

import {
  publishRoutingTable,
  routingRedisKeys,
  type RoutingStore,
} from '@cellpay/global-data-access';
import type { RoutingTable } from '@cellpay/routing';

/**
 * Freezes (drain) or unfreezes (undrain) every slot a cell owns: one audited routing change with
 * an epoch bump, published at once. Clients of a frozen slot get a retryable status.
 */
export async function setCellSlotsState(
  routing: RoutingStore,
  redis: Redis,
  redisPrefix: string,
  cellId: string,
  state: 'frozen' | 'active',
  actor: string,
): Promise<{ table: RoutingTable; slots: number[] }> {
  const snapshot = await routing.loadSnapshot();
  if (snapshot === undefined) throw new Error('the routing table is not initialised');
  if (!snapshot.cells.some((cell) => cell.cellId === cellId)) {
    throw new Error(`routing table: unknown cell ${cellId}`);
  }
  const slots = snapshot.slots.filter((slot) => slot.cellId === cellId).map((slot) => slot.slot);
  const table = await routing.setSlotState(slots, state, {
    actor,
    action: state === 'frozen' ? 'routing.drain' : 'routing.undrain',
    subject: cellId,
  });
  await publishRoutingTable(redis, routingRedisKeys(redisPrefix), table);
  return { table, slots };
}
