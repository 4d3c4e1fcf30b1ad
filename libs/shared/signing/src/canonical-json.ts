/**
 * The canonical form of a request body that both the SDK and the gateway sign: JSON with object
 * keys sorted by code point, no insignificant whitespace, and absent values removed (undefined,
 * null, empty arrays and empty objects), so "field not set" has exactly one spelling.
 *
 * Callers pass the proto3 JSON view of the message with default values omitted and 64-bit integers
 * as decimal strings (protobufjs `toObject` with `defaults: false, longs: String`). A bigint is
 * written as its decimal string, matching that view; a non-finite number is refused.
 */
export function canonicalJson(value: unknown): string {
  const normalized = normalize(value, 0);
  return normalized === undefined ? '{}' : JSON.stringify(normalized);
}

const depthMax = 32;

function normalize(value: unknown, depth: number): unknown {
  if (depth > depthMax) throw new TypeError(`canonicalJson: nesting deeper than ${depthMax}`);
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonicalJson: non-finite number');
    return value;
  }
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return Buffer.from(value).toString('base64');
  }
  if (Array.isArray(value)) {
    const items = value.map((item) => normalize(item, depth + 1) ?? null);
    return items.length === 0 ? undefined : items;
  }
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((key) => [key, normalize((value as Record<string, unknown>)[key], depth + 1)] as const)
      .filter(([, item]) => item !== undefined);
    return entries.length === 0 ? undefined : Object.fromEntries(entries);
  }
  throw new TypeError(`canonicalJson: cannot encode a ${typeof value}`);
}
