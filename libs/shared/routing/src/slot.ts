import { createHash } from 'node:crypto';

/** Slots per installation unless configured otherwise; fixed for the life of an installation. */
export const slotCountDefault = 100;

/**
 * The slot that owns a user: the first four bytes of SHA-256 of the user ID (UTF-8), modulo the
 * slot count. SHA-256 is chosen for being exact, portable to any language that must agree with us
 * (SDKs, tools, the simulator) and uniform on sequential IDs; its cost (about a microsecond) is
 * nothing next to a network hop.
 */
export function slotOf(userId: string, slotCount: number = slotCountDefault): number {
  if (!Number.isInteger(slotCount) || slotCount < 1 || slotCount > 0xffff) {
    throw new RangeError(`slotCount must be an integer from 1 to 65535, got ${slotCount}`);
  }
  if (userId.length === 0) throw new RangeError('userId must not be empty');
  return createHash('sha256').update(userId, 'utf8').digest().readUInt32BE(0) % slotCount;
}
