// The Dockerfile rules of the deploy issue, on top of the dockerfile-utils linter: a multi-stage
// build from pinned bases, a non-root final user, no ADD of URLs, a health check, exec-form
// entry points, and the list of entry points the image names.
import { DockerfileParser, type Instruction } from 'dockerfile-ast';

export interface Stage {
  name: string | null;
  image: string;
  tag: string | null;
  digest: string | null;
  instructions: Instruction[];
}

export function parseStages(content: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(content).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = DockerfileParser.parse(instruction.getTextContent()).getFROMs()[0];
      stages.push({
        name: from?.getBuildStage() ?? null,
        image: from?.getImageName() ?? '',
        tag: from?.getImageTag() ?? null,
        digest: from?.getImageDigest() ?? null,
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/** Exact versions only: a tag with a full x.y.z version, or a digest. */
const pinnedTagPattern = /^v?[0-9]+\.[0-9]+\.[0-9]+([-.][A-Za-z0-9.]+)*$/;
const userPattern = /^([A-Za-z0-9_.-]+)(:[A-Za-z0-9_.-]+)?$/;

/** Violations of our rules, one readable sentence each; empty when the Dockerfile complies. */
export function dockerfileRuleViolations(content: string): string[] {
  const violations: string[] = [];
  const stages = parseStages(content);
  const stageNames = new Set(stages.map((stage) => stage.name).filter((name) => name !== null));
  if (stages.length < 2) {
    violations.push('the build must be multi-stage (a build stage and a runtime stage)');
  }
  for (const stage of stages) {
    if (stageNames.has(stage.image)) {
      continue;
    }
    const pinned =
      stage.digest !== null || (stage.tag !== null && pinnedTagPattern.test(stage.tag));
    if (!pinned) {
      violations.push(
        `FROM ${stage.image}${stage.tag ? `:${stage.tag}` : ''} is not pinned to an exact version or digest`,
      );
    }
  }
  for (const instruction of stages.flatMap((stage) => stage.instructions)) {
    if (
      instruction.getKeyword() === 'ADD' &&
      /\bhttps?:\/\//.test(instruction.getArgumentsContent() ?? '')
    ) {
      violations.push(
        `ADD fetches a URL (${instruction.getArgumentsContent()}); download in a RUN with a checksum`,
      );
    }
  }
  const runtime = stages.at(-1);
  if (!runtime) {
    return ['no FROM instruction'];
  }
  const keywordsOf = (keyword: string) =>
    runtime.instructions.filter((instruction) => instruction.getKeyword() === keyword);
  const lastUser = keywordsOf('USER').at(-1)?.getArgumentsContent()?.trim();
  const user = lastUser ? userPattern.exec(lastUser)?.[1] : undefined;
  if (!user || user === 'root' || user === '0') {
    violations.push('the runtime stage must end with USER set to a non-root user');
  }
  if (keywordsOf('HEALTHCHECK').length === 0) {
    violations.push('the runtime stage needs a HEALTHCHECK');
  }
  for (const keyword of ['ENTRYPOINT', 'CMD']) {
    const instruction = keywordsOf(keyword).at(-1);
    if (!instruction || !(instruction.getArgumentsContent() ?? '').trim().startsWith('[')) {
      violations.push(`the runtime stage needs ${keyword} in exec (JSON) form`);
    }
  }
  if (!runtime.instructions.some((instruction) => /--from=/.test(instruction.getTextContent()))) {
    violations.push('the runtime stage copies nothing from an earlier stage');
  }
  return violations;
}

/** Every `dist/apps/<app>/main.js` the Dockerfile names, in order of first mention. */
export function dockerfileEntryPoints(content: string): string[] {
  return [...new Set(content.match(/dist\/apps\/[a-z0-9-]+\/main\.js/g) ?? [])];
}

/** The build command the build stage runs (the `nx run-many` part of its RUN). */
export function dockerfileBuildCommand(content: string): string | undefined {
  const build = parseStages(content).find((stage) => stage.name === 'build');
  for (const instruction of build?.instructions ?? []) {
    const text = instruction.getArgumentsContent() ?? '';
    if (instruction.getKeyword() === 'RUN' && text.includes('nx run-many')) {
      return text
        .replace(/\\\r?\n/g, ' ')
        .split('&&')[0]
        ?.replace(/\s+/g, ' ')
        .trim();
    }
  }
  return undefined;
}
