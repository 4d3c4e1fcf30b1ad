import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** What `tools/infra/infra.sh up` wrote to <state>/endpoints.json: the local installation. */
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
  // From libs/shared/config/src (sources) or dist/apps/<app>/libs/shared/config/src (a build), the
  // repository root is the first ancestor holding tools/infra.
  return process.env['CELLPAY_INFRA_DIR'] ?? join(repositoryRoot(), '.infra');
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

function repositoryRoot(): string {
  let directory = __dirname;
  while (!existsSync(join(directory, 'tools', 'infra', 'infra.sh'))) {
    const parent = dirname(directory);
    if (parent === directory) return process.cwd();
    directory = parent;
  }
  return directory;
}
