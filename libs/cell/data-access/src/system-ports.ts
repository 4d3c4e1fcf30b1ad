import { randomBytes } from 'node:crypto';

import { type Clock, formatId, type IdGenerator, type IdKind } from '@cellpay/cell-domain';

/** The real clock; the only place the cell reads system time. */
export class SystemClock implements Clock {
  now(): Date {
    return new Date();
  }
}

const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

function encode(value: bigint, length: number): string {
  let text = '';
  let rest = value;
  for (let index = 0; index < length; index++) {
    text = crockford[Number(rest % 32n)] + text;
    rest /= 32n;
  }
  return text;
}

/**
 * ULID-shaped unique parts (48-bit millisecond time, then 80 random bits, Crockford base 32), so
 * IDs sort roughly by creation time, which keeps B-tree inserts near the end of the index.
 */
export class RandomIdGenerator implements IdGenerator {
  constructor(private readonly clock: Clock) {}

  next(kind: IdKind, slot: number): string {
    const time = BigInt(this.clock.now().getTime());
    const random = BigInt(`0x${randomBytes(10).toString('hex')}`);
    return formatId(kind, slot, encode(time, 10) + encode(random, 16));
  }
}
