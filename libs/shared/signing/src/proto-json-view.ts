/**
 * The view of a request message that is signed: proto3 JSON with every default scalar removed
 * (empty strings, zeros, false), at every level. A proto3 server cannot tell an unset field from
 * a field set to its default, so the client and the gateway must both sign the message without
 * them; otherwise `{ cursor: '' }` and `{}` would be one request with two signatures.
 */
export function protoJsonView(value: unknown): unknown {
  if (value === '' || value === 0 || value === false || value === 0n) return undefined;
  if (Array.isArray(value)) return value.map((item) => protoJsonView(item) ?? null);
  if (value !== null && typeof value === 'object' && !Buffer.isBuffer(value)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([key, item]) => [
        key,
        protoJsonView(item),
      ]),
    );
  }
  return value;
}
