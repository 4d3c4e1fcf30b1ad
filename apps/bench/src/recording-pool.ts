import type { Pool, PoolConnection } from 'mysql2/promise';

/** One statement as the cell sent it: text and bound values. */
export interface RecordedStatement {
  readonly sql: string;
  readonly values: unknown;
}

/**
 * Wraps a mysql2 pool so that, while `record` runs, every statement the cell's store sends through
 * it is captured. The benchmark replays these captures as its plain-mysql2 reference, so the
 * reference does exactly the SQL work of a real payment, not an approximation of it.
 */
export class RecordingPool {
  private current: RecordedStatement[] | undefined;
  readonly pool: Pool;

  constructor(inner: Pool) {
    this.pool = new Proxy(inner, {
      get: (target, property, receiver) => {
        if (property === 'getConnection') {
          return async () => this.wrap(await target.getConnection());
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }

  async record<T>(work: () => Promise<T>): Promise<{ result: T; statements: RecordedStatement[] }> {
    if (this.current !== undefined) throw new Error('recordings do not nest');
    const statements: RecordedStatement[] = [];
    this.current = statements;
    try {
      return { result: await work(), statements };
    } finally {
      this.current = undefined;
    }
  }

  private wrap(connection: PoolConnection): PoolConnection {
    return new Proxy(connection, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if ((property === 'query' || property === 'execute') && typeof value === 'function') {
          return (sql: unknown, values?: unknown) => {
            if (
              this.current !== undefined &&
              typeof sql === 'string' &&
              !sql.startsWith('SET SESSION')
            ) {
              this.current.push({ sql, values });
            }
            return (value as (s: unknown, v?: unknown) => unknown).call(target, sql, values);
          };
        }
        return typeof value === 'function'
          ? (value as (...a: unknown[]) => unknown).bind(target)
          : value;
      },
    });
  }
}

/**
 * A recorded payment made reusable: every value unique to that payment (its out_trade_no, payment
 * and journal IDs) is replaced per replay, everything else is sent as recorded.
 */
export function replayable(
  statements: readonly RecordedStatement[],
  uniqueTokens: readonly string[],
) {
  const tokens = [...uniqueTokens].sort((a, b) => b.length - a.length);
  const rewrite = (value: unknown, suffix: string): unknown => {
    if (typeof value === 'string') {
      let rewritten = value;
      for (const token of tokens) rewritten = rewritten.split(token).join(`${token}${suffix}`);
      return rewritten;
    }
    if (Array.isArray(value)) return value.map((item) => rewrite(item, suffix));
    return value;
  };
  return (suffix: string): RecordedStatement[] =>
    statements.map((statement) => ({
      sql: statement.sql,
      values: rewrite(statement.values, suffix),
    }));
}

/** The IDs a payment minted, found in the values it sent (they are the unique tokens). */
export function mintedIds(statements: readonly RecordedStatement[]): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      for (const match of value.matchAll(/\b(?:pay|jnl)_[0-9]{4}[A-Za-z0-9]+/g))
        found.add(match[0]);
    } else if (Array.isArray(value)) value.forEach(visit);
  };
  for (const statement of statements) visit(statement.values);
  return [...found];
}
