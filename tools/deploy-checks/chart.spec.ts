// The helm chart renders, lints and validates for every region and every ci/*.yaml case, and what
// it renders keeps the promises of the chart: selectors without cell labels, cells isolated on their
// own shard, hardened pods, the monitoring files shipped unchanged.
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  ciValueSets,
  type DeployTools,
  installDeployTools,
  type Manifest,
  parseManifests,
  readText,
  regionValueSets,
  renderManifests,
  repoRoot,
  runCommand,
  toolsInstallTimeoutMs,
  valuesArguments,
  helmTemplate,
  chartDir,
} from './deploy-checks.helper';
import { dockerfileEntryPoints } from './dockerfile-rules.helper';

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  readinessProbe?: { httpGet?: { path: string; port: string } };
  livenessProbe?: { httpGet?: { path: string; port: string } };
}
interface PodTemplate {
  metadata: { labels: Record<string, string> };
  spec: {
    containers: Container[];
    securityContext?: { runAsNonRoot?: boolean };
    automountServiceAccountToken?: boolean;
  };
}
interface NetworkPolicyPeer {
  ipBlock?: { cidr: string };
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
}
interface NetworkPolicySpec {
  podSelector: LabelSelector;
  ingress?: { from?: NetworkPolicyPeer[] }[];
  egress?: { to?: NetworkPolicyPeer[] }[];
}
interface CellValues {
  id: string;
  homeRegion: string;
  standbyRegion: string;
  shard: { primary: { cidr: string }; replica: { cidr: string } };
}

const cellLabel = 'cellpay.io/cell';
const valueSets = [
  ...regionValueSets().map(({ region, files }) => ({ name: `region ${region}`, files })),
  ...ciValueSets().map(({ name, files }) => ({ name: `ci/${name}`, files })),
];

function ofKind(manifests: Manifest[], kind: string): Manifest[] {
  return manifests.filter((manifest) => manifest.kind === kind);
}

function named(manifests: Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find(
    (manifest) => manifest.kind === kind && manifest.metadata.name === name,
  );
  if (!found) {
    throw new Error(`no ${kind} ${name} in the rendered manifests`);
  }
  return found;
}

function podTemplate(manifest: Manifest): PodTemplate {
  return (manifest.spec as { template: PodTemplate }).template;
}

/** Every label selector of a manifest, wherever the kind keeps them. */
function selectorsOf(manifest: Manifest): LabelSelector[] {
  const spec = (manifest.spec ?? {}) as Record<string, unknown>;
  switch (manifest.kind) {
    case 'Deployment':
    case 'PodDisruptionBudget':
    case 'ServiceMonitor':
      return [spec['selector'] as LabelSelector];
    case 'Service':
      return [{ matchLabels: spec['selector'] as Record<string, string> }];
    case 'NetworkPolicy': {
      const policy = spec as unknown as NetworkPolicySpec;
      const peers = [
        ...(policy.ingress ?? []).flatMap((rule) => rule.from ?? []),
        ...(policy.egress ?? []).flatMap((rule) => rule.to ?? []),
      ];
      return [
        policy.podSelector,
        ...peers.flatMap((peer) => [peer.podSelector, peer.namespaceSelector]),
      ].filter((selector): selector is LabelSelector => selector !== undefined);
    }
    default:
      return [];
  }
}

function selectorKeys(selector: LabelSelector): string[] {
  return [
    ...Object.keys(selector.matchLabels ?? {}),
    ...(selector.matchExpressions ?? []).map((expression) => expression.key),
  ];
}

function matches(selector: LabelSelector, labels: Record<string, string>): boolean {
  const labelsMatch = Object.entries(selector.matchLabels ?? {}).every(
    ([key, value]) => labels[key] === value,
  );
  const expressionsMatch = (selector.matchExpressions ?? []).every((expression) => {
    const value = labels[expression.key];
    return (
      expression.operator === 'In' &&
      value !== undefined &&
      (expression.values ?? []).includes(value)
    );
  });
  return labelsMatch && expressionsMatch;
}

function egressCidrs(policy: Manifest): string[] {
  const spec = policy.spec as unknown as NetworkPolicySpec;
  return (spec.egress ?? []).flatMap((rule) =>
    (rule.to ?? []).flatMap((peer) => (peer.ipBlock ? [peer.ipBlock.cidr] : [])),
  );
}

let tools: DeployTools;

beforeAll(() => {
  tools = installDeployTools();
}, toolsInstallTimeoutMs);

describe.each(valueSets)('$name', ({ files }) => {
  let manifests: Manifest[];
  let rendered: string;

  beforeAll(() => {
    const result = helmTemplate(tools, valuesArguments(files));
    if (result.status !== 0) {
      throw new Error(`helm template failed:\n${result.stderr}`);
    }
    rendered = result.stdout;
    manifests = parseManifests(rendered);
  });

  it('passes helm lint --strict', () => {
    const result = runCommand(tools.helm, [
      'lint',
      '--strict',
      chartDir,
      ...valuesArguments(files),
    ]);
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it('renders manifests that decode strictly into the Kubernetes types', () => {
    const result = runCommand(tools.kubeValidate, ['-'], rendered);
    expect(result.stdout).toMatch(/^\d+ document\(s\) valid$/m);
    expect(result.status).toBe(0);
  });

  it('keeps cellpay.io/cell out of every selector and on the metadata of cell objects', () => {
    for (const manifest of manifests) {
      for (const selector of selectorsOf(manifest)) {
        expect(selectorKeys(selector)).not.toContain(cellLabel);
      }
    }
    const cellWorkloads = [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'Job')].filter(
      (manifest) => manifest.metadata.name.match(/-(relay-|migrate-)?cell-[0-9]+$/),
    );
    for (const workload of cellWorkloads) {
      const cell = /cell-[0-9]+$/.exec(workload.metadata.name)?.[0];
      expect(workload.metadata.labels?.[cellLabel]).toBe(cell);
      expect(podTemplate(workload).metadata.labels[cellLabel]).toBe(cell);
    }
  });

  it('leaves chart and app versions off pod templates, so a chart upgrade alone restarts nothing', () => {
    for (const workload of [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'Job')]) {
      const labels = Object.keys(podTemplate(workload).metadata.labels);
      expect(labels).not.toContain('helm.sh/chart');
      expect(labels).not.toContain('app.kubernetes.io/version');
    }
  });

  it('selects each workload with a selector that matches only its own pods', () => {
    const deployments = ofKind(manifests, 'Deployment');
    for (const deployment of deployments) {
      const selector = (deployment.spec as { selector: LabelSelector }).selector;
      const selected = deployments.filter((other) =>
        matches(selector, podTemplate(other).metadata.labels),
      );
      expect(selected.map((other) => other.metadata.name)).toEqual([deployment.metadata.name]);
    }
  });

  it('runs every container non-root on a read-only root filesystem, with an entry point the image has', () => {
    const entryPoints = dockerfileEntryPoints(readText(join(repoRoot, 'Dockerfile')));
    for (const workload of [...ofKind(manifests, 'Deployment'), ...ofKind(manifests, 'Job')]) {
      const template = podTemplate(workload);
      expect(template.spec.securityContext?.runAsNonRoot).toBe(true);
      expect(template.spec.automountServiceAccountToken).toBe(false);
      for (const container of template.spec.containers) {
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
        expect(entryPoints).toContain(container.args?.[0]);
      }
    }
  });

  it('wires liveness to /healthz and readiness to /readyz on the ops port of every long-running process', () => {
    for (const deployment of ofKind(manifests, 'Deployment')) {
      for (const container of podTemplate(deployment).spec.containers) {
        expect(container.livenessProbe?.httpGet).toEqual({ path: '/healthz', port: 'ops' });
        expect(container.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'ops' });
      }
    }
  });
});

describe('region releases', () => {
  const shared = parse(readText(join(repoRoot, 'deploy', 'cells.yaml'))) as { cells: CellValues[] };

  it.each(regionValueSets())(
    '$region runs its home cells as primaries and the others as scaled-down standbys',
    ({ region, files }) => {
      const manifests = renderManifests(tools, valuesArguments(files));
      for (const cell of shared.cells) {
        const deployment = named(manifests, 'Deployment', `cellpay-${cell.id}`);
        const relay = named(manifests, 'Deployment', `cellpay-relay-${cell.id}`);
        const replicas = (manifest: Manifest) => (manifest.spec as { replicas: number }).replicas;
        if (cell.homeRegion === region) {
          expect(deployment.metadata.labels?.['cellpay.io/role']).toBe('primary');
          expect(replicas(deployment)).toBeGreaterThan(0);
          expect(replicas(relay)).toBeGreaterThan(0);
          const job = named(manifests, 'Job', `cellpay-migrate-${cell.id}`);
          expect(job.metadata.annotations?.['helm.sh/hook']).toBe('pre-install,pre-upgrade');
          expect(podTemplate(job).spec.containers[0]?.args).toEqual([
            'dist/apps/cell/main.js',
            'migrate',
          ]);
        } else {
          expect(deployment.metadata.labels?.['cellpay.io/role']).toBe('standby');
          expect(replicas(deployment)).toBe(0);
          expect(replicas(relay)).toBe(0);
          expect(
            manifests.some((manifest) => manifest.metadata.name === `cellpay-migrate-${cell.id}`),
          ).toBe(false);
        }
      }
      for (const kind of [
        'Deployment',
        'Service',
        'HorizontalPodAutoscaler',
        'PodDisruptionBudget',
      ]) {
        expect(named(manifests, kind, 'cellpay-gateway').kind).toBe(kind);
      }
    },
  );

  it.each(regionValueSets())(
    '$region: a cell and its relay reach only their own shard',
    ({ files }) => {
      const manifests = renderManifests(tools, valuesArguments(files));
      const shardCidrs = new Map(
        shared.cells.map((cell) => [cell.id, [cell.shard.primary.cidr, cell.shard.replica.cidr]]),
      );
      for (const cell of shared.cells) {
        const own = shardCidrs.get(cell.id) ?? [];
        const others = [...shardCidrs.entries()]
          .filter(([id]) => id !== cell.id)
          .flatMap(([, cidrs]) => cidrs);
        for (const name of [`cellpay-${cell.id}`, `cellpay-relay-${cell.id}`]) {
          const cidrs = egressCidrs(named(manifests, 'NetworkPolicy', name));
          expect(cidrs).toEqual(expect.arrayContaining(own));
          for (const cidr of others) {
            expect(cidrs).not.toContain(cidr);
          }
        }
      }
    },
  );

  it.each(regionValueSets())('$region: only the gateway is reachable from outside', ({ files }) => {
    const manifests = renderManifests(tools, valuesArguments(files));
    const policies = ofKind(manifests, 'NetworkPolicy');
    const defaultDeny = named(manifests, 'NetworkPolicy', 'cellpay-default-deny');
    const denySpec = defaultDeny.spec as unknown as NetworkPolicySpec;
    for (const deployment of ofKind(manifests, 'Deployment')) {
      expect(matches(denySpec.podSelector, podTemplate(deployment).metadata.labels)).toBe(true);
    }
    for (const policy of policies) {
      const spec = policy.spec as unknown as NetworkPolicySpec;
      for (const rule of spec.ingress ?? []) {
        const open =
          rule.from === undefined || rule.from.some((peer) => peer.ipBlock !== undefined);
        if (open) {
          expect(policy.metadata.name).toBe('cellpay-gateway');
        }
      }
    }
    const cellIngress = (
      named(manifests, 'NetworkPolicy', 'cellpay-cell-1').spec as unknown as NetworkPolicySpec
    ).ingress;
    expect(cellIngress).toEqual([
      expect.objectContaining({
        from: [
          {
            podSelector: {
              matchLabels: expect.objectContaining({ 'app.kubernetes.io/component': 'gateway' }),
            },
          },
        ],
      }),
    ]);
  });
});

describe('staged rollout values', () => {
  it('hold back the listed cells and the gateway on the previous tag, and nothing else', () => {
    const manifests = renderManifests(tools, [
      '-f',
      join(chartDir, 'ci', 'staged-rollout-values.yaml'),
    ]);
    const imageOf = (name: string) =>
      podTemplate(named(manifests, 'Deployment', name)).spec.containers[0]?.image;
    const pinned =
      'registry.example.com/cellpay@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
    expect(imageOf('cellpay-cell-1')).toBe(pinned);
    expect(imageOf('cellpay-relay-cell-1')).toBe(pinned);
    expect(imageOf('cellpay-cell-2')).toBe('registry.example.com/cellpay:0.0.9');
    expect(imageOf('cellpay-relay-cell-2')).toBe('registry.example.com/cellpay:0.0.9');
    expect(imageOf('cellpay-gateway')).toBe('registry.example.com/cellpay:0.0.9');
  });
});

describe('monitoring objects', () => {
  const observabilityDir = join(repoRoot, 'deploy', 'observability');

  it.each(['alert-rules.yaml', 'dashboard.json'])(
    'the chart copy of %s is identical to deploy/observability (no drift)',
    (file) => {
      expect(readText(join(chartDir, 'files', file))).toBe(readText(join(observabilityDir, file)));
    },
  );

  it('ship the alert rules as a PrometheusRule and the dashboard as a Grafana ConfigMap, unchanged', () => {
    const [region] = regionValueSets();
    const manifests = renderManifests(tools, valuesArguments(region?.files ?? []));
    const rule = named(manifests, 'PrometheusRule', 'cellpay');
    const canonicalRules = parse(readText(join(observabilityDir, 'alert-rules.yaml'))) as {
      groups: unknown;
    };
    expect(rule.spec?.['groups']).toEqual(canonicalRules.groups);
    const dashboard = named(manifests, 'ConfigMap', 'cellpay-dashboard');
    expect(dashboard.metadata.labels?.['grafana_dashboard']).toBe('1');
    expect(JSON.parse(dashboard.data?.['cellpay-overview.json'] ?? '')).toEqual(
      JSON.parse(readText(join(observabilityDir, 'dashboard.json'))),
    );
  });
});

describe('kube-validate', () => {
  const validate = (manifest: string) => runCommand(tools.kubeValidate, ['-'], manifest);

  it('rejects unknown fields, wrong types, unknown kinds and selectors that miss their pods', () => {
    const cases: [string, RegExp][] = [
      [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndatta: {}\n',
        /unknown field "datta"/,
      ],
      [
        'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec:\n  selector: {app: a}\n  ports: [{port: "eighty"}]\n',
        /cannot unmarshal string/,
      ],
      ['apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: a}\n', /unknown kind/],
      [
        [
          'apiVersion: apps/v1',
          'kind: Deployment',
          'metadata: {name: a}',
          'spec:',
          '  selector: {matchLabels: {app: a}}',
          '  template:',
          '    metadata: {labels: {app: b}}',
          '    spec: {containers: [{name: c, image: "x:1"}]}',
        ].join('\n'),
        /does not match the pod template's labels/,
      ],
      ['apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n', /metadata.name/],
    ];
    for (const [manifest, problem] of cases) {
      const result = validate(manifest);
      expect(result.stdout).toMatch(problem);
      expect(result.status).toBe(1);
    }
  });

  it('accepts a valid document', () => {
    const result = validate('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n');
    expect(result.stdout).toContain('1 document(s) valid');
    expect(result.status).toBe(0);
  });
});
