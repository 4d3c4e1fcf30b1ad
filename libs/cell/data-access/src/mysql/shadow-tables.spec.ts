import type { Pool } from 'mysql2/promise';

import { shadowTablesCleanedMax, truncateShadowTables } from './shadow-tables';

describe('truncateShadowTables', () => {
  const queries: string[] = [];
  const pool = {
    query: async (sql: string) => {
      queries.push(sql);
      return [[], []];
    },
  } as unknown as Pool;

  beforeEach(() => {
    queries.length = 0;
  });

  it('refuses the whole list, before any statement, if one table is not a shadow table', async () => {
    await expect(truncateShadowTables(pool, ['shadow_accounts', 'accounts'])).rejects.toThrow(
      'refusing to truncate accounts',
    );
    await expect(truncateShadowTables(pool, ['shadow_x`; DROP TABLE accounts'])).rejects.toThrow(
      'not a shadow table',
    );
    expect(queries).toEqual([]);
  });

  it('refuses more tables than the bound', async () => {
    const many = Array.from({ length: shadowTablesCleanedMax + 1 }, (_, n) => `shadow_t${n}`);
    await expect(truncateShadowTables(pool, many)).rejects.toThrow(RangeError);
    expect(queries).toEqual([]);
  });

  it('truncates each shadow table it is given', async () => {
    await truncateShadowTables(pool, ['shadow_accounts', 'shadow_journals']);
    expect(queries).toEqual([
      'TRUNCATE TABLE `shadow_accounts`',
      'TRUNCATE TABLE `shadow_journals`',
    ]);
  });
});
