// Shared by the deploy checks: where the chart and values live, the tools (helm, kube-validate)
// installed by install-tools.sh, and helpers to render the chart and read what it renders.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export const repoRoot = join(__dirname, '..', '..');
export const chartDir = join(repoRoot, 'helm', 'cellpay');
export const cellsValuesFile = join(repoRoot, 'deploy', 'cells.yaml');
export const regionsDir = join(repoRoot, 'deploy', 'regions');
export const negativeValuesDir = join(__dirname, 'negative-values');
export const releaseName = 'cellpay';
export const releaseNamespace = 'cellpay';

/** First run on a fresh machine compiles helm and kube-validate with Go (minutes). */
export const toolsInstallTimeoutMs = 20 * 60 * 1000;
const commandTimeoutMs = 60_000;

export interface DeployTools {
  helm: string;
  kubeValidate: string;
}

export function installDeployTools(): DeployTools {
  const output = execFileSync('bash', [join(__dirname, 'install-tools.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: toolsInstallTimeoutMs,
  });
  return JSON.parse(output) as DeployTools;
}

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCommand(program: string, args: string[], input?: string): CommandResult {
  const result = spawnSync(program, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    input,
    timeout: commandTimeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) {
    throw result.error;
  }
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The values files of each region's release: the shared cell map, then the region's file. */
export function regionValueSets(): { region: string; files: string[] }[] {
  return readdirSync(regionsDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => ({
      region: file.replace(/\.yaml$/, ''),
      files: [cellsValuesFile, join(regionsDir, file)],
    }));
}

/** The chart's ci/*.yaml cases; each is a complete values file on its own. */
export function ciValueSets(): { name: string; files: string[] }[] {
  const ciDir = join(chartDir, 'ci');
  return readdirSync(ciDir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => ({ name: file, files: [join(ciDir, file)] }));
}

export function valuesArguments(files: string[]): string[] {
  return files.flatMap((file) => ['-f', file]);
}

export function helmTemplate(tools: DeployTools, args: string[]): CommandResult {
  return runCommand(tools.helm, [
    'template',
    releaseName,
    chartDir,
    '--namespace',
    releaseNamespace,
    ...args,
  ]);
}

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

export function parseManifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((document) => {
      if (document.errors.length > 0) {
        throw new Error(`rendered YAML does not parse: ${document.errors[0]?.message}`);
      }
      return document.toJS() as Manifest | null;
    })
    .filter((manifest): manifest is Manifest => manifest !== null);
}

/** Renders the chart and fails the test with helm's message if it does not render. */
export function renderManifests(tools: DeployTools, args: string[]): Manifest[] {
  const result = helmTemplate(tools, args);
  if (result.status !== 0) {
    throw new Error(`helm template ${args.join(' ')} failed:\n${result.stderr}`);
  }
  return parseManifests(result.stdout);
}

export function readText(path: string): string {
  return readFileSync(path, 'utf8');
}

/** Metric names declared in the catalog table of docs/metrics.md, with their types. */
export function metricCatalog(): Map<string, string> {
  const catalog = new Map<string, string>();
  const rowPattern = /^\|\s*`(cellpay_[a-z0-9_]+)`\s*\|\s*(counter|gauge|histogram|summary)\s*\|/;
  for (const line of readText(join(repoRoot, 'docs', 'metrics.md')).split('\n')) {
    const match = rowPattern.exec(line);
    if (match?.[1] && match[2]) {
      catalog.set(match[1], match[2]);
    }
  }
  return catalog;
}
