/**
 * The binary `grpc-status-details-bin` trailer: a google.rpc.Status whose details hold one
 * google.rpc.ErrorInfo (reason = the rule that was broken, domain = cellpay.io). Four fields of
 * protobuf wire format do not justify a protobuf runtime, so they are encoded here by hand.
 */
export const errorDomain = 'cellpay.io';
export const errorInfoTypeUrl = 'type.googleapis.com/google.rpc.ErrorInfo';

/**
 * The reason of a cell that refused a call at its admission bound (RESOURCE_EXHAUSTED, retryable):
 * the cell gives it and the gateway must tell it apart from a dead cell, so both read it here.
 */
export const cellOverloadedReason = 'cell_overloaded';

function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value >>> 0;
  while (rest > 0x7f) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function field(number: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((number << 3) | 2), varint(payload.length), payload]);
}

function text(number: number, value: string): Buffer {
  return field(number, Buffer.from(value, 'utf8'));
}

/**
 * `metadata` becomes ErrorInfo's map<string, string> (field 3): machine-readable facts such as the
 * epoch a cell routes by, or how long to wait before retrying. Never secrets.
 */
export function encodeErrorStatus(
  code: number,
  message: string,
  reason: string,
  metadata: Readonly<Record<string, string>> = {},
): Buffer {
  const entries = Object.entries(metadata).map(([key, value]) =>
    field(3, Buffer.concat([text(1, key), text(2, value)])),
  );
  const errorInfo = Buffer.concat([text(1, reason), text(2, errorDomain), ...entries]);
  const any = Buffer.concat([text(1, errorInfoTypeUrl), field(2, errorInfo)]);
  return Buffer.concat([varint((1 << 3) | 0), varint(code), text(2, message), field(3, any)]);
}

export interface DecodedErrorStatus {
  readonly code: number;
  readonly message: string;
  readonly reason: string;
  readonly domain: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** Reads back what `encodeErrorStatus` writes (for clients and tests). */
export function decodeErrorStatus(buffer: Buffer): DecodedErrorStatus {
  const repeated: Buffer[] = [];
  const fields = (bytes: Buffer, collect?: number): Map<number, Buffer | number> => {
    const found = new Map<number, Buffer | number>();
    let offset = 0;
    const readVarint = (): number => {
      let result = 0;
      let shift = 0;
      for (;;) {
        const byte = bytes[offset++];
        if (byte === undefined) throw new Error('truncated varint');
        result |= (byte & 0x7f) << shift;
        if ((byte & 0x80) === 0) return result >>> 0;
        shift += 7;
      }
    };
    while (offset < bytes.length) {
      const tag = readVarint();
      if ((tag & 7) === 0) {
        found.set(tag >>> 3, readVarint());
      } else {
        const length = readVarint();
        const payload = bytes.subarray(offset, offset + length);
        if (tag >>> 3 === collect) repeated.push(payload);
        found.set(tag >>> 3, payload);
        offset += length;
      }
    }
    return found;
  };
  const status = fields(buffer);
  const any = fields(status.get(3) as Buffer);
  const info = fields(any.get(2) as Buffer, 3);
  const metadata: Record<string, string> = {};
  for (const entry of repeated) {
    const pair = fields(entry);
    metadata[(pair.get(1) as Buffer | undefined)?.toString('utf8') ?? ''] =
      (pair.get(2) as Buffer | undefined)?.toString('utf8') ?? '';
  }
  return {
    code: Number(status.get(1) ?? 0),
    message: (status.get(2) as Buffer | undefined)?.toString('utf8') ?? '',
    reason: (info.get(1) as Buffer).toString('utf8'),
    domain: (info.get(2) as Buffer).toString('utf8'),
    metadata,
  };
}
