import type { Migration } from '@cellpay/connections';

/**
 * The global zone's schema: small, rarely written data every gateway and the control plane need.
 * Money never lives here.
 */
export const globalMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'routing, credentials, switches, audit',
    statements: [
      `CREATE TABLE IF NOT EXISTS routing_meta (
         id TINYINT NOT NULL PRIMARY KEY,
         epoch BIGINT NOT NULL,
         slot_count INT NOT NULL,
         CHECK (id = 1), CHECK (epoch >= 0), CHECK (slot_count BETWEEN 1 AND 65535)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS routing_cells (
         cell_id VARCHAR(32) NOT NULL PRIMARY KEY,
         home_region VARCHAR(64) NOT NULL,
         standby_region VARCHAR(64) NOT NULL,
         active_region VARCHAR(64) NOT NULL,
         state ENUM('active', 'draining', 'down') NOT NULL
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS routing_slots (
         slot INT NOT NULL PRIMARY KEY,
         cell_id VARCHAR(32) NOT NULL,
         state ENUM('active', 'frozen') NOT NULL,
         CONSTRAINT routing_slots_cell FOREIGN KEY (cell_id) REFERENCES routing_cells (cell_id)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS routing_overrides (
         user_id VARCHAR(128) NOT NULL PRIMARY KEY,
         cell_id VARCHAR(32) NOT NULL,
         CONSTRAINT routing_overrides_cell FOREIGN KEY (cell_id) REFERENCES routing_cells (cell_id)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS merchants (
         merchant_id VARCHAR(64) NOT NULL PRIMARY KEY,
         display_name VARCHAR(200) NOT NULL,
         status ENUM('active', 'suspended') NOT NULL,
         created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS credentials (
         key_id VARCHAR(64) NOT NULL PRIMARY KEY,
         owner_id VARCHAR(64) NOT NULL,
         owner_kind ENUM('merchant', 'first_party') NOT NULL,
         secret_ciphertext VARBINARY(512) NOT NULL,
         scopes VARCHAR(200) NOT NULL,
         rate_per_second INT NOT NULL,
         burst INT NOT NULL,
         status ENUM('active', 'revoked') NOT NULL,
         created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
         revoked_at TIMESTAMP(6) NULL,
         KEY credentials_owner (owner_id),
         CHECK (rate_per_second > 0), CHECK (burst > 0)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS switches (
         name VARCHAR(64) NOT NULL PRIMARY KEY,
         value_json VARCHAR(1000) NOT NULL,
         version BIGINT NOT NULL,
         updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
       ) ENGINE=InnoDB`,
      `CREATE TABLE IF NOT EXISTS audit_log (
         audit_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
         actor VARCHAR(128) NOT NULL,
         action VARCHAR(64) NOT NULL,
         subject VARCHAR(200) NOT NULL,
         before_json MEDIUMTEXT NULL,
         after_json MEDIUMTEXT NULL,
         created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
         KEY audit_log_created (created_at)
       ) ENGINE=InnoDB`,
    ],
  },
  {
    version: 2,
    name: 'switch version',
    statements: [
      `CREATE TABLE IF NOT EXISTS switch_meta (
         id TINYINT NOT NULL PRIMARY KEY,
         version BIGINT NOT NULL,
         CHECK (id = 1), CHECK (version >= 0)
       ) ENGINE=InnoDB`,
      'INSERT IGNORE INTO switch_meta (id, version) VALUES (1, 0)',
    ],
  },
];
