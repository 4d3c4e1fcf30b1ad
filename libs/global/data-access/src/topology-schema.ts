import type { Migration } from '@cellpay/connections';

/**
 * The topology's tables in the global zone, versioned on their own (history table
 * `topology_migrations`), so the shard topology ships without touching the global schema's history.
 */
export const topologyMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'shard topology: cells, nodes per region, primary',
    statements: [
      `CREATE TABLE IF NOT EXISTS topology_meta (
         id TINYINT NOT NULL PRIMARY KEY,
         version BIGINT NOT NULL,
         CHECK (id = 1), CHECK (version >= 1)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS topology_cells (
         cell_id VARCHAR(32) NOT NULL PRIMARY KEY,
         home_region VARCHAR(64) NOT NULL,
         standby_region VARCHAR(64) NOT NULL,
         primary_region VARCHAR(64) NOT NULL
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS topology_nodes (
         cell_id VARCHAR(32) NOT NULL,
         region VARCHAR(64) NOT NULL,
         host VARCHAR(253) NOT NULL,
         port INT NOT NULL,
         PRIMARY KEY (cell_id, region),
         CONSTRAINT topology_nodes_cell FOREIGN KEY (cell_id) REFERENCES topology_cells (cell_id),
         CHECK (port BETWEEN 1 AND 65535)
       ) ENGINE=InnoDB`,
    ],
  },
];

export const topologyMigrationOptions = { historyTable: 'topology_migrations' } as const;
