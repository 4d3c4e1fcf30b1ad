// The Dockerfile parses, passes the dockerfile-utils linter and our own rules, and every entry
// point it names is produced by the build it runs.
import { execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from 'dockerfile-utils';
import { readText, repoRoot } from './deploy-checks.helper';
import {
  dockerfileBuildCommand,
  dockerfileEntryPoints,
  dockerfileRuleViolations,
  parseStages,
} from './dockerfile-rules.helper';

const dockerfile = readText(join(repoRoot, 'Dockerfile'));
const buildTimeoutMs = 10 * 60 * 1000;

/** The entry points docs/processes.md assigns to the deployed processes. */
function documentedEntryPoints(): Map<string, string> {
  const entryPoints = new Map<string, string>();
  const rowPattern =
    /^\|\s*(gateway|cell|relay|cellctl)\s*\|\s*`(dist\/apps\/[a-z0-9-]+\/main\.js)`/;
  for (const line of readText(join(repoRoot, 'docs', 'processes.md')).split('\n')) {
    const match = rowPattern.exec(line);
    if (match?.[1] && match[2]) {
      entryPoints.set(match[1], match[2]);
    }
  }
  return entryPoints;
}

describe('Dockerfile', () => {
  it('parses into named stages and passes the dockerfile-utils linter without a diagnostic', () => {
    expect(parseStages(dockerfile).map((stage) => stage.name)).toEqual([
      'build',
      'dependencies',
      'runtime',
    ]);
    expect(validate(dockerfile)).toEqual([]);
  });

  it('follows our rules: multi-stage, pinned bases, non-root, no ADD of URLs, health check, exec form', () => {
    expect(dockerfileRuleViolations(dockerfile)).toEqual([]);
  });

  it('the rules and the linter catch a Dockerfile that breaks them', () => {
    const careless = [
      'FROM node:latest',
      'ADD https://example.com/tool.tgz /opt/',
      'USER root',
      'CMD node dist/apps/gateway/main.js',
      'EXPOSE http',
      'MAINTAINER someone',
    ].join('\n');
    expect(dockerfileRuleViolations(careless)).toEqual([
      'the build must be multi-stage (a build stage and a runtime stage)',
      'FROM node:latest is not pinned to an exact version or digest',
      'ADD fetches a URL (https://example.com/tool.tgz /opt/); download in a RUN with a checksum',
      'the runtime stage must end with USER set to a non-root user',
      'the runtime stage needs a HEALTHCHECK',
      'the runtime stage needs ENTRYPOINT in exec (JSON) form',
      'the runtime stage needs CMD in exec (JSON) form',
      'the runtime stage copies nothing from an earlier stage',
    ]);
    expect(validate(careless).map((diagnostic) => diagnostic.message)).toEqual([
      'Invalid containerPort: http',
      'MAINTAINER has been deprecated',
    ]);
  });

  it('names the entry point of every deployed process in docs/processes.md', () => {
    const named = dockerfileEntryPoints(dockerfile);
    const documented = documentedEntryPoints();
    expect([...documented.keys()].sort()).toEqual(['cell', 'cellctl', 'gateway', 'relay']);
    for (const entryPoint of documented.values()) {
      expect(named).toContain(entryPoint);
    }
  });

  it('names only entry points that are Nx apps with a build target and a main.ts', () => {
    for (const entryPoint of dockerfileEntryPoints(dockerfile)) {
      const app = entryPoint.split('/')[2] ?? '';
      const project = JSON.parse(
        readFileSync(join(repoRoot, 'apps', app, 'project.json'), 'utf8'),
      ) as {
        targets?: Record<string, unknown>;
      };
      expect(project.targets?.['build']).toBeDefined();
      expect(existsSync(join(repoRoot, 'apps', app, 'src', 'main.ts'))).toBe(true);
    }
  });

  it(
    'the build command of its build stage produces every entry point it names',
    () => {
      const command = dockerfileBuildCommand(dockerfile);
      expect(command).toMatch(/^npx nx run-many -t build --projects=[a-z,]+ --parallel=1$/);
      execSync(command ?? '', {
        cwd: repoRoot,
        stdio: 'pipe',
        timeout: buildTimeoutMs,
        env: { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' },
      });
      for (const entryPoint of dockerfileEntryPoints(dockerfile)) {
        expect(existsSync(join(repoRoot, entryPoint))).toBe(true);
      }
    },
    buildTimeoutMs,
  );
});
