// Rolls a new cellpay image out one region at a time and, inside a region, one cell at a time:
// the region's canary cell first, then its other cells, then the gateway together with the standby
// Deployments of cells homed elsewhere. Every wave is one `helm upgrade --install` of the region's
// release in which the cells not yet upgraded (and the gateway) are held back on the previous tag
// (chart values rollout.*), followed by gates: `kubectl rollout status` of the wave's Deployments
// (readiness), then GET /readyz through the API server's service proxy (health), again after a
// soak period. The first failing command stops the rollout; nothing further is changed.
// Usage: deploy/rollout --help
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const deployDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = dirname(deployDir);
const soakSecondsMax = 3600;
const rolloutTimeoutSecondsMax = 3600;
const commandTimeoutMsSlack = 60_000;

const usage = `Usage: deploy/rollout --image-tag NEW --previous-tag CURRENT [options]

Upgrades cellpay to image tag NEW, one region at a time, one cell at a time (canary first),
waiting for readiness and health between waves and stopping at the first failure.

  --image-tag TAG        the tag to roll out (required)
  --previous-tag TAG     the tag the regions run now; held-back components stay on it (required)
  --regions A,B          regions in rollout order (default: every deploy/regions/*.yaml, by name)
  --release NAME         helm release name (default: cellpay)
  --timeout SECONDS      per-Deployment readiness wait and helm timeout (default 600, max ${rolloutTimeoutSecondsMax})
  --soak-seconds N       wait after each wave before the second health check (default 60, max ${soakSecondsMax})
  --dry-run              print the plan and the commands; touch no cluster
  --help                 this text
`;

class RolloutError extends Error {}

function parseArguments(argv) {
  const options = {
    imageTag: '',
    previousTag: '',
    regions: [],
    release: 'cellpay',
    timeoutSeconds: 600,
    soakSeconds: 60,
    dryRun: false,
    help: false,
  };
  const takeValue = (index, flag) => {
    const value = argv[index + 1];
    if (value === undefined || value.startsWith('--')) {
      throw new RolloutError(`${flag} needs a value`);
    }
    return value;
  };
  const boundedInteger = (value, flag, maximum) => {
    if (!/^[0-9]+$/.test(value) || Number(value) > maximum) {
      throw new RolloutError(`${flag} must be an integer from 0 to ${maximum}, got ${value}`);
    }
    return Number(value);
  };
  for (let index = 0; index < argv.length; index += 1) {
    const flag = argv[index];
    switch (flag) {
      case '--image-tag':
        options.imageTag = takeValue(index++, flag);
        break;
      case '--previous-tag':
        options.previousTag = takeValue(index++, flag);
        break;
      case '--regions':
        options.regions = takeValue(index++, flag).split(',').filter(Boolean);
        break;
      case '--release':
        options.release = takeValue(index++, flag);
        break;
      case '--timeout':
        options.timeoutSeconds = boundedInteger(
          takeValue(index++, flag),
          flag,
          rolloutTimeoutSecondsMax,
        );
        break;
      case '--soak-seconds':
        options.soakSeconds = boundedInteger(takeValue(index++, flag), flag, soakSecondsMax);
        break;
      case '--dry-run':
        options.dryRun = true;
        break;
      case '--help':
        options.help = true;
        break;
      default:
        throw new RolloutError(`unknown argument ${flag}`);
    }
  }
  if (options.help) {
    return options;
  }
  const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
  for (const [flag, tag] of [
    ['--image-tag', options.imageTag],
    ['--previous-tag', options.previousTag],
  ]) {
    if (!tagPattern.test(tag)) {
      throw new RolloutError(`${flag} is required and must be an image tag, got "${tag}"`);
    }
  }
  if (options.imageTag === options.previousTag) {
    throw new RolloutError('--image-tag and --previous-tag are the same: nothing to roll out');
  }
  return options;
}

function readYaml(path) {
  return YAML.parse(readFileSync(path, 'utf8')) ?? {};
}

// The resource name prefix, computed like the chart's cellpay.fullname helper.
function fullName(release, regionValues) {
  const override = regionValues.fullnameOverride;
  if (override) {
    return override.slice(0, 40).replace(/-+$/, '');
  }
  const name = regionValues.nameOverride || 'cellpay';
  const prefix = release.includes(name) ? release : `${release}-${name}`;
  return prefix.slice(0, 40).replace(/-+$/, '');
}

function loadRegions(options) {
  const cellsFile = join(deployDir, 'cells.yaml');
  const cellMap = readYaml(cellsFile);
  const regionsDir = join(deployDir, 'regions');
  const available = readdirSync(regionsDir)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => basename(file, '.yaml'))
    .sort();
  const order = options.regions.length > 0 ? options.regions : available;
  return order.map((name) => {
    if (!available.includes(name)) {
      throw new RolloutError(
        `no values file deploy/regions/${name}.yaml (have: ${available.join(', ')})`,
      );
    }
    const valuesFile = join(regionsDir, `${name}.yaml`);
    const values = readYaml(valuesFile);
    const region = values.region ?? {};
    if (region.name !== name) {
      throw new RolloutError(`deploy/regions/${name}.yaml sets region.name to "${region.name}"`);
    }
    if (!region.kubeContext) {
      throw new RolloutError(`deploy/regions/${name}.yaml has no region.kubeContext`);
    }
    const cells = cellMap.cells ?? [];
    const primaries = cells.filter((cell) => cell.homeRegion === name).map((cell) => cell.id);
    const standbys = cells.filter((cell) => cell.standbyRegion === name).map((cell) => cell.id);
    if (primaries.length > 0 && !primaries.includes(region.canaryCell)) {
      throw new RolloutError(
        `deploy/regions/${name}.yaml: region.canaryCell "${region.canaryCell ?? ''}" is not one of the cells homed there (${primaries.join(', ')})`,
      );
    }
    const cellOrder = [
      region.canaryCell,
      ...primaries.filter((id) => id !== region.canaryCell),
    ].filter((id) => primaries.includes(id));
    return {
      name,
      kubeContext: region.kubeContext,
      namespace: region.namespace || 'cellpay',
      fullName: fullName(options.release, values),
      valuesFiles: [cellsFile, valuesFile],
      cellOrder,
      standbys,
    };
  });
}

function helmUpgrade(options, region, rolloutValues) {
  const args = [
    'upgrade',
    '--install',
    options.release,
    relative(process.cwd(), join(repoRoot, 'helm', 'cellpay')) || '.',
    '--kube-context',
    region.kubeContext,
    '--namespace',
    region.namespace,
    ...region.valuesFiles.flatMap((file) => ['-f', relative(process.cwd(), file)]),
    // --set-string: a tag such as 1.10 must stay a string, not become the number 1.1. The digest
    // is cleared because it would win over the tag being rolled out.
    '--set-string',
    `image.tag=${options.imageTag}`,
    '--set-string',
    'image.digest=',
  ];
  if (rolloutValues) {
    args.push(
      '--set-string',
      `rollout.previousImageTag=${options.previousTag}`,
      '--set',
      'rollout.holdBackGateway=true',
      '--set-json',
      `rollout.heldBackCells=${JSON.stringify(rolloutValues.heldBackCells)}`,
    );
  }
  args.push('--timeout', `${options.timeoutSeconds}s`);
  return { program: 'helm', args };
}

function kubectl(region, ...args) {
  return {
    program: 'kubectl',
    args: ['--context', region.kubeContext, '--namespace', region.namespace, ...args],
  };
}

function readinessGate(options, region, deployment) {
  return kubectl(
    region,
    'rollout',
    'status',
    `deployment/${deployment}`,
    `--timeout=${options.timeoutSeconds}s`,
  );
}

function healthGate(region, service) {
  const path = `/api/v1/namespaces/${region.namespace}/services/http:${service}:ops/proxy/readyz`;
  return kubectl(region, 'get', '--raw', path);
}

// The waves of one region: its cells one by one (canary first), then the gateway and standbys.
function planRegion(options, region) {
  const waves = [];
  const prefix = region.fullName;
  const everyCell = [...region.cellOrder, ...region.standbys];
  region.cellOrder.forEach((cell, index) => {
    const upgraded = region.cellOrder.slice(0, index + 1);
    const heldBackCells = everyCell.filter((id) => !upgraded.includes(id));
    const deployments = [`${prefix}-${cell}`, `${prefix}-relay-${cell}`];
    waves.push({
      title: `${index === 0 ? 'canary ' : ''}${cell}`,
      summary:
        `${cell} and its relay take ${options.imageTag}; ` +
        `${heldBackCells.length > 0 ? `${heldBackCells.join(', ')} and ` : ''}the gateway stay on ${options.previousTag}`,
      upgrade: helmUpgrade(options, region, { heldBackCells }),
      readiness: deployments.map((deployment) => readinessGate(options, region, deployment)),
      health: deployments.map((service) => healthGate(region, service)),
    });
  });
  const standbyDeployments = region.standbys.flatMap((cell) => [
    `${prefix}-${cell}`,
    `${prefix}-relay-${cell}`,
  ]);
  waves.push({
    title: 'gateway and standbys',
    summary:
      `the gateway${region.standbys.length > 0 ? ` and the standby Deployments of ${region.standbys.join(', ')}` : ''} ` +
      `take ${options.imageTag}, after every cell of the region is healthy (cells accept the old and the new gateway)`,
    upgrade: helmUpgrade(options, region, null),
    readiness: [`${prefix}-gateway`, ...standbyDeployments].map((deployment) =>
      readinessGate(options, region, deployment),
    ),
    // Standby Deployments run no pods until a failover, so only the gateway has a health endpoint.
    health: [healthGate(region, `${prefix}-gateway`)],
  });
  return waves;
}

function shellQuote(word) {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

function render(command) {
  return [command.program, ...command.args].map(shellQuote).join(' ');
}

function run(options, command) {
  console.log(`    $ ${render(command)}`);
  const result = spawnSync(command.program, command.args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: options.timeoutSeconds * 1000 + commandTimeoutMsSlack,
  });
  if (result.error) {
    throw new RolloutError(`${command.program} could not run: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new RolloutError(`${render(command)} exited with ${result.status ?? result.signal}`);
  }
}

function capture(options, command) {
  console.log(`    $ ${render(command)}`);
  const result = spawnSync(command.program, command.args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    timeout: options.timeoutSeconds * 1000 + commandTimeoutMsSlack,
  });
  if (result.error || result.status !== 0) {
    throw new RolloutError(
      `${render(command)} failed: ${result.error?.message ?? `exit ${result.status}`}`,
    );
  }
  return result.stdout.trim();
}

// The gateway is upgraded last, so its image says where a region stands: still on the previous
// tag (roll it out), already on the new one (done earlier, skip), or anything else (stop).
function regionState(options, region) {
  const image = capture(
    options,
    kubectl(
      region,
      'get',
      `deployment/${region.fullName}-gateway`,
      '--output=jsonpath={.spec.template.spec.containers[0].image}',
    ),
  );
  if (image.endsWith(`:${options.imageTag}`)) {
    return 'done';
  }
  if (image.endsWith(`:${options.previousTag}`)) {
    return 'pending';
  }
  throw new RolloutError(
    `region ${region.name}: the gateway runs "${image}", neither ${options.previousTag} nor ${options.imageTag}; install or fix the region by hand first`,
  );
}

function printRegionHeader(region, index, count) {
  const primaries = region.cellOrder.map((cell, position) =>
    position === 0 ? `${cell} (canary)` : cell,
  );
  console.log(
    `\nRegion ${index + 1}/${count}: ${region.name} (context ${region.kubeContext}, namespace ${region.namespace})`,
  );
  console.log(
    `  primaries: ${primaries.join(', ') || 'none'}; standbys: ${region.standbys.join(', ') || 'none'}`,
  );
}

async function main() {
  const options = parseArguments(process.argv.slice(2));
  if (options.help) {
    process.stdout.write(usage);
    return;
  }
  const regions = loadRegions(options);
  const plans = regions.map((region) => ({ region, waves: planRegion(options, region) }));
  console.log(
    `${options.dryRun ? 'Rollout plan (dry run)' : 'Rollout'}: release ${options.release}, ` +
      `${options.previousTag} -> ${options.imageTag}, ${regions.length} region(s) in order ` +
      `${regions.map((region) => region.name).join(', ')}; one region at a time, one cell at a time, ` +
      `stopping at the first failure.`,
  );
  for (const [regionIndex, { region, waves }] of plans.entries()) {
    printRegionHeader(region, regionIndex, plans.length);
    if (options.dryRun) {
      console.log(
        `  precheck: the gateway must run ${options.previousTag}; if it already runs ${options.imageTag}, the region is skipped`,
      );
    } else if (regionState(options, region) === 'done') {
      console.log(`  the gateway already runs ${options.imageTag}: region done earlier, skipped`);
      continue;
    }
    for (const [waveIndex, wave] of waves.entries()) {
      console.log(`  wave ${waveIndex + 1}/${waves.length}: ${wave.title}: ${wave.summary}`);
      const steps = [
        ['upgrade', [wave.upgrade]],
        ['readiness', wave.readiness],
        ['health', wave.health],
      ];
      if (options.dryRun) {
        for (const [, commands] of steps) {
          commands.forEach((command) => console.log(`    $ ${render(command)}`));
        }
        console.log(`    soak ${options.soakSeconds}s, then the health checks again`);
        continue;
      }
      try {
        for (const [, commands] of steps) {
          commands.forEach((command) => run(options, command));
        }
        if (options.soakSeconds > 0) {
          console.log(`    soak ${options.soakSeconds}s`);
          await sleep(options.soakSeconds * 1000);
          wave.health.forEach((command) => run(options, command));
        }
      } catch (error) {
        if (error instanceof RolloutError) {
          throw new RolloutError(
            `${error.message}\nrollout stopped in region ${region.name}, wave ${waveIndex + 1}/${waves.length} (${wave.title}); ` +
              `later waves and regions were not touched. To undo this region's last upgrade: ` +
              `helm rollback ${options.release} --kube-context ${region.kubeContext} --namespace ${region.namespace}`,
          );
        }
        throw error;
      }
    }
  }
  console.log(
    options.dryRun
      ? '\nEnd of plan; nothing was changed.'
      : `\nRollout of ${options.imageTag} complete.`,
  );
}

main().catch((error) => {
  if (error instanceof RolloutError) {
    console.error(`rollout: ${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(2);
});
