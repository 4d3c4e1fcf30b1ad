// deploy/rollout: the dry-run plan, the order of a real run (with fake kubectl and helm on PATH
// that record their calls and fail on demand), the stop at the first failure, and the agreement
// between what each wave asks helm for and what the chart then renders.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type DeployTools,
  installDeployTools,
  type Manifest,
  renderManifests,
  repoRoot,
  toolsInstallTimeoutMs,
} from './deploy-checks.helper';

interface RecordedCall {
  tool: 'helm' | 'kubectl';
  args: string[];
}
interface RolloutRun {
  status: number | null;
  stdout: string;
  stderr: string;
  calls: RecordedCall[];
}

// Each test runs the script, which starts node for every fake kubectl/helm call (dozens per run).
jest.setTimeout(120_000);

const rolloutScript = join(repoRoot, 'deploy', 'rollout');
const rolloutTimeoutMs = 60_000;
// 0.10 would turn into the number 0.1 if the script passed tags with --set instead of --set-string.
const newTag = '0.10';
const previousTag = '0.1.0';
const image = (tag: string) => `ghcr.io/cellpay/cellpay:${tag}`;

// A fake kubectl/helm: records its arguments as one JSON line, fails when its arguments contain
// FAKE_FAIL_MATCH, and answers the gateway image query from FAKE_GATEWAY_IMAGES (context -> image).
const fakeTool = (tool: string) => `#!/usr/bin/env node
const { appendFileSync } = require('node:fs');
const args = process.argv.slice(2);
appendFileSync(process.env.FAKE_CALL_LOG, JSON.stringify({ tool: '${tool}', args }) + '\\n');
const failMatch = process.env.FAKE_FAIL_MATCH;
if (failMatch && args.join(' ').includes(failMatch)) {
  process.stderr.write('${tool}: simulated failure\\n');
  process.exit(1);
}
if (args.some((arg) => arg.includes('jsonpath={.spec.template.spec.containers[0].image}'))) {
  const context = args[args.indexOf('--context') + 1];
  process.stdout.write(JSON.parse(process.env.FAKE_GATEWAY_IMAGES || '{}')[context] ?? '${image(previousTag)}');
}
`;

let fakeBin: string;

beforeAll(() => {
  fakeBin = mkdtempSync(join(tmpdir(), 'cellpay-rollout-'));
  for (const tool of ['helm', 'kubectl']) {
    writeFileSync(join(fakeBin, tool), fakeTool(tool));
    chmodSync(join(fakeBin, tool), 0o755);
  }
});

afterAll(() => {
  rmSync(fakeBin, { recursive: true, force: true });
});

function runRollout(args: string[], fakeEnvironment: Record<string, string> = {}): RolloutRun {
  const callLog = join(fakeBin, `calls-${Date.now()}-${Math.random().toString(36).slice(2)}.jsonl`);
  const result = spawnSync(rolloutScript, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: rolloutTimeoutMs,
    env: {
      ...process.env,
      PATH: `${fakeBin}:${process.env['PATH'] ?? ''}`,
      FAKE_CALL_LOG: callLog,
      ...fakeEnvironment,
    },
  });
  const calls = existsSync(callLog)
    ? readFileSync(callLog, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as RecordedCall)
    : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const realRun = [
  '--image-tag',
  newTag,
  '--previous-tag',
  previousTag,
  '--soak-seconds',
  '0',
  '--timeout',
  '30',
];

/** A readable summary of each call: "ctx helm [held back]", "ctx status deployment/x", ... */
function summarize(call: RecordedCall): string {
  const { args } = call;
  const valueOf = (flag: string) => args[args.indexOf(flag) + 1] ?? '';
  if (call.tool === 'helm') {
    const heldBack = args.find((arg) => arg.startsWith('rollout.heldBackCells='))?.split('=')[1];
    return `${valueOf('--kube-context')} helm upgrade held=${heldBack ?? 'none'}`;
  }
  const context = valueOf('--context');
  if (args.includes('rollout')) {
    return `${context} status ${args.find((arg) => arg.startsWith('deployment/'))}`;
  }
  if (args.includes('--raw')) {
    return `${context} readyz ${/services\/http:([^:]+):ops/.exec(valueOf('--raw'))?.[1]}`;
  }
  return `${context} gateway image`;
}

describe('deploy/rollout --dry-run', () => {
  it('prints the wave plan for both regions, canary first, gateway last, and touches nothing', () => {
    const run = runRollout(['--dry-run', '--image-tag', newTag, '--previous-tag', previousTag]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.calls).toEqual([]);
    const waves = run.stdout.split('\n').filter((line) => /^\s*(Region|wave) /.test(line));
    expect(waves.map((line) => line.trim().split(':').slice(0, 2).join(':'))).toEqual([
      'Region 1/2: region-a (context cellpay-region-a, namespace cellpay)',
      'wave 1/3: canary cell-2',
      'wave 2/3: cell-1',
      'wave 3/3: gateway and standbys',
      'Region 2/2: region-b (context cellpay-region-b, namespace cellpay)',
      'wave 1/3: canary cell-4',
      'wave 2/3: cell-3',
      'wave 3/3: gateway and standbys',
    ]);
    expect(run.stdout).toContain(
      `helm upgrade --install cellpay helm/cellpay --kube-context cellpay-region-a --namespace cellpay -f deploy/cells.yaml -f deploy/regions/region-a.yaml --set-string image.tag=${newTag} --set-string image.digest= --set-string rollout.previousImageTag=${previousTag} --set rollout.holdBackGateway=true --set-json 'rollout.heldBackCells=["cell-1","cell-3","cell-4"]'`,
    );
    expect(run.stdout).toContain(
      'kubectl --context cellpay-region-b --namespace cellpay rollout status deployment/cellpay-cell-4 --timeout=600s',
    );
    expect(run.stdout).toContain('End of plan; nothing was changed.');
  });

  it('refuses a missing previous tag, equal tags and unknown regions', () => {
    const cases: [string[], RegExp][] = [
      [['--dry-run', '--image-tag', newTag], /--previous-tag is required/],
      [['--dry-run', '--image-tag', newTag, '--previous-tag', newTag], /nothing to roll out/],
      [
        [
          '--dry-run',
          '--image-tag',
          newTag,
          '--previous-tag',
          previousTag,
          '--regions',
          'region-q',
        ],
        /no values file deploy\/regions\/region-q\.yaml/,
      ],
      [
        [
          '--dry-run',
          '--image-tag',
          newTag,
          '--previous-tag',
          previousTag,
          '--soak-seconds',
          '99999',
        ],
        /--soak-seconds must be an integer from 0 to 3600/,
      ],
    ];
    for (const [args, message] of cases) {
      const run = runRollout(args);
      expect(run.stderr).toMatch(message);
      expect(run.status).toBe(1);
    }
  });
});

describe('deploy/rollout', () => {
  it('goes region by region, cell by cell, gating every wave on readiness and health', () => {
    const run = runRollout(realRun);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const regionA = [
      'cellpay-region-a gateway image',
      'cellpay-region-a helm upgrade held=["cell-1","cell-3","cell-4"]',
      'cellpay-region-a status deployment/cellpay-cell-2',
      'cellpay-region-a status deployment/cellpay-relay-cell-2',
      'cellpay-region-a readyz cellpay-cell-2',
      'cellpay-region-a readyz cellpay-relay-cell-2',
      'cellpay-region-a helm upgrade held=["cell-3","cell-4"]',
      'cellpay-region-a status deployment/cellpay-cell-1',
      'cellpay-region-a status deployment/cellpay-relay-cell-1',
      'cellpay-region-a readyz cellpay-cell-1',
      'cellpay-region-a readyz cellpay-relay-cell-1',
      'cellpay-region-a helm upgrade held=none',
      'cellpay-region-a status deployment/cellpay-gateway',
      'cellpay-region-a status deployment/cellpay-cell-3',
      'cellpay-region-a status deployment/cellpay-relay-cell-3',
      'cellpay-region-a status deployment/cellpay-cell-4',
      'cellpay-region-a status deployment/cellpay-relay-cell-4',
      'cellpay-region-a readyz cellpay-gateway',
    ];
    const regionB = [
      'cellpay-region-b gateway image',
      'cellpay-region-b helm upgrade held=["cell-3","cell-1","cell-2"]',
      'cellpay-region-b status deployment/cellpay-cell-4',
      'cellpay-region-b status deployment/cellpay-relay-cell-4',
      'cellpay-region-b readyz cellpay-cell-4',
      'cellpay-region-b readyz cellpay-relay-cell-4',
      'cellpay-region-b helm upgrade held=["cell-1","cell-2"]',
      'cellpay-region-b status deployment/cellpay-cell-3',
      'cellpay-region-b status deployment/cellpay-relay-cell-3',
      'cellpay-region-b readyz cellpay-cell-3',
      'cellpay-region-b readyz cellpay-relay-cell-3',
      'cellpay-region-b helm upgrade held=none',
      'cellpay-region-b status deployment/cellpay-gateway',
      'cellpay-region-b status deployment/cellpay-cell-1',
      'cellpay-region-b status deployment/cellpay-relay-cell-1',
      'cellpay-region-b status deployment/cellpay-cell-2',
      'cellpay-region-b status deployment/cellpay-relay-cell-2',
      'cellpay-region-b readyz cellpay-gateway',
    ];
    expect(run.calls.map(summarize)).toEqual([...regionA, ...regionB]);
    expect(run.stdout).toContain(`Rollout of ${newTag} complete.`);
  });

  it('stops at a failed readiness gate and touches no later wave or region', () => {
    const run = runRollout(realRun, {
      FAKE_FAIL_MATCH: 'rollout status deployment/cellpay-cell-1 ',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('rollout stopped in region region-a, wave 2/3 (cell-1)');
    expect(run.stderr).toContain(
      'helm rollback cellpay --kube-context cellpay-region-a --namespace cellpay',
    );
    const calls = run.calls.map(summarize);
    expect(calls.at(-1)).toBe('cellpay-region-a status deployment/cellpay-cell-1');
    expect(calls.filter((call) => call.includes('helm upgrade'))).toHaveLength(2);
    expect(calls.some((call) => call.startsWith('cellpay-region-b'))).toBe(false);
  });

  it('stops at a failed health gate in the second region', () => {
    const run = runRollout(realRun, {
      FAKE_FAIL_MATCH:
        'cellpay-region-b --namespace cellpay get --raw /api/v1/namespaces/cellpay/services/http:cellpay-gateway:ops',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'rollout stopped in region region-b, wave 3/3 (gateway and standbys)',
    );
    expect(run.calls.map(summarize).at(-1)).toBe('cellpay-region-b readyz cellpay-gateway');
  });

  it('stops when helm fails, before any gate of that wave', () => {
    const run = runRollout(realRun, { FAKE_FAIL_MATCH: 'upgrade --install' });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('rollout stopped in region region-a, wave 1/3 (canary cell-2)');
    expect(run.calls.map(summarize)).toEqual([
      'cellpay-region-a gateway image',
      'cellpay-region-a helm upgrade held=["cell-1","cell-3","cell-4"]',
    ]);
  });

  it('skips a region whose gateway already runs the new tag, and refuses one on an unknown tag', () => {
    const resumed = runRollout(realRun, {
      FAKE_GATEWAY_IMAGES: JSON.stringify({ 'cellpay-region-a': image(newTag) }),
    });
    expect(resumed.status).toBe(0);
    expect(resumed.stdout).toContain('region done earlier, skipped');
    const resumedCalls = resumed.calls.map(summarize);
    expect(resumedCalls.filter((call) => call.startsWith('cellpay-region-a'))).toEqual([
      'cellpay-region-a gateway image',
    ]);
    expect(resumedCalls.filter((call) => call.includes('helm upgrade'))).toHaveLength(3);

    const unknown = runRollout(realRun, {
      FAKE_GATEWAY_IMAGES: JSON.stringify({ 'cellpay-region-a': image('0.0.7') }),
    });
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain(`neither ${previousTag} nor ${newTag}`);
    expect(unknown.calls.map(summarize)).toEqual(['cellpay-region-a gateway image']);
  });
});

describe('deploy/rollout waves rendered by the chart', () => {
  let tools: DeployTools;
  let waves: { region: string; manifests: Manifest[] }[];
  let steadyStates: Map<string, Manifest[]>;

  /** helm upgrade --install RELEASE CHART ... -> the helm template arguments after CHART, minus cluster flags. */
  function templateArguments(upgrade: RecordedCall): string[] {
    const clusterFlags = ['--kube-context', '--timeout'];
    return upgrade.args
      .slice(4)
      .filter(
        (arg, index, all) =>
          !clusterFlags.includes(arg) && !clusterFlags.includes(all[index - 1] ?? ''),
      );
  }

  function podTemplates(manifests: Manifest[]): Map<string, string> {
    return new Map(
      manifests
        .filter((manifest) => manifest.kind === 'Deployment')
        .map((manifest) => [
          manifest.metadata.name,
          JSON.stringify((manifest.spec as { template: unknown }).template),
        ]),
    );
  }

  beforeAll(() => {
    tools = installDeployTools();
    const run = runRollout(realRun);
    expect(run.status).toBe(0);
    waves = run.calls
      .filter((call) => call.tool === 'helm')
      .map((upgrade) => ({
        region: upgrade.args[upgrade.args.indexOf('--kube-context') + 1] ?? '',
        manifests: renderManifests(tools, templateArguments(upgrade)),
      }));
    // What each region runs before the rollout: every component on the previous tag.
    steadyStates = new Map(
      ['region-a', 'region-b'].map((region) => [
        `cellpay-${region}`,
        renderManifests(tools, [
          '-f',
          join(repoRoot, 'deploy', 'cells.yaml'),
          '-f',
          join(repoRoot, 'deploy', 'regions', `${region}.yaml`),
          '--set-string',
          `image.tag=${previousTag}`,
        ]),
      ]),
    );
  }, toolsInstallTimeoutMs);

  it('each wave upgrades exactly its cell and keeps every other cell and the gateway on the previous tag', () => {
    expect(waves).toHaveLength(6);
    const expectedNewPerWave = [
      ['cell-2'],
      ['cell-2', 'cell-1'],
      ['cell-2', 'cell-1', 'cell-3', 'cell-4', 'gateway'],
      ['cell-4'],
      ['cell-4', 'cell-3'],
      ['cell-4', 'cell-3', 'cell-1', 'cell-2', 'gateway'],
    ];
    waves.forEach(({ manifests }, waveIndex) => {
      const upgraded = expectedNewPerWave[waveIndex] ?? [];
      for (const component of ['gateway', 'cell-1', 'cell-2', 'cell-3', 'cell-4']) {
        const deployment = manifests.find(
          (manifest) =>
            manifest.kind === 'Deployment' && manifest.metadata.name === `cellpay-${component}`,
        );
        const containers = (
          deployment?.spec as { template: { spec: { containers: { image: string }[] } } }
        ).template.spec.containers;
        expect({ wave: waveIndex + 1, component, image: containers[0]?.image }).toEqual({
          wave: waveIndex + 1,
          component,
          image: image(upgraded.includes(component) ? newTag : previousTag),
        });
      }
    });
  });

  it('each wave changes the pod templates of its own Deployments and of no other', () => {
    const changedPerWave = [
      ['cellpay-cell-2', 'cellpay-relay-cell-2'],
      ['cellpay-cell-1', 'cellpay-relay-cell-1'],
      [
        'cellpay-cell-3',
        'cellpay-cell-4',
        'cellpay-gateway',
        'cellpay-relay-cell-3',
        'cellpay-relay-cell-4',
      ],
      ['cellpay-cell-4', 'cellpay-relay-cell-4'],
      ['cellpay-cell-3', 'cellpay-relay-cell-3'],
      [
        'cellpay-cell-1',
        'cellpay-cell-2',
        'cellpay-gateway',
        'cellpay-relay-cell-1',
        'cellpay-relay-cell-2',
      ],
    ];
    let before = new Map<string, string>();
    let region = '';
    waves.forEach((wave, waveIndex) => {
      if (wave.region !== region) {
        region = wave.region;
        before = podTemplates(steadyStates.get(region) ?? []);
      }
      const after = podTemplates(wave.manifests);
      const changed = [...after.keys()]
        .filter((name) => after.get(name) !== before.get(name))
        .sort();
      expect({ wave: waveIndex + 1, changed }).toEqual({
        wave: waveIndex + 1,
        changed: changedPerWave[waveIndex],
      });
      before = after;
    });
  });
});
