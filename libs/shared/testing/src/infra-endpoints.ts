import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** What `tools/infra/infra.sh up` wrote to <state>/endpoints.json. */
export interface InfraEndpoints {
  readonly flavor: 'mariadb' | 'mysql';
  readonly mysql: { readonly host: string; readonly user: string; readonly password: string };
  readonly global: { readonly port: number; readonly database: string };
  readonly cells: readonly {
    readonly id: string;
    readonly database: string;
    readonly primary: { readonly port: number };
    readonly replica: { readonly port: number };
  }[];
  readonly redis: { readonly host: string; readonly port: number };
  readonly kafka: { readonly brokers: readonly string[] };
}

export function infraStateDir(): string {
  return process.env['CELLPAY_INFRA_DIR'] ?? resolve(__dirname, '../../../../.infra');
}

export function readInfraEndpoints(): InfraEndpoints {
  const path = join(infraStateDir(), 'endpoints.json');
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as InfraEndpoints;
  } catch (error) {
    throw new Error(
      `cannot read ${path}; start the local infrastructure with 'npm run infra:up' (${String(error)})`,
    );
  }
}

/** A name unique to this test run, for databases, topics and keys that must not collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
}
