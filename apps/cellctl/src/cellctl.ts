import { Command, CommanderError } from 'commander';

import { AuditLog } from '@cellpay/global-data-access';

import { registerCredentialCommands } from './commands/credentials.command';
import { registerDeadLetterCommands } from './commands/dlq.command';
import { registerMigrateCommands } from './commands/migrate.command';
import { registerReconcileCommand } from './commands/reconcile.command';
import { registerStatusCommand } from './commands/status.command';
import { registerDrillCommands } from './commands/drill.command';
import { registerFailoverCommands } from './commands/failover.command';
import { registerGlobalCommands } from './commands/routes.command';
import { registerSwitchCommands } from './commands/switch.command';
import { registerTopologyCommands } from './commands/topology.command';
import { ControlPlaneContext, resolveSettings } from './control-plane-context';
import { table, type Terminal } from './terminal';

/** What a command gets: connections, the terminal, confirmation, and cleanup registration. */
export interface Session {
  readonly context: ControlPlaneContext;
  readonly terminal: Terminal;
  /** True when --yes was given, or the operator answered yes. */
  confirm(yes: boolean | undefined, question: string): Promise<boolean>;
  onClose(close: () => Promise<void>): void;
}

export type CommandRunner = (work: (session: Session) => Promise<void>) => Promise<void>;

/**
 * Runs one cellctl invocation and returns its exit code: 0 done, 1 failed (the error is printed),
 * 2 bad usage. Mutating commands ask before acting unless --yes, and leave an audit record.
 */
export async function runCellctl(
  argv: readonly string[],
  terminal: Terminal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let exitCode = 0;
  const program = new Command('cellctl')
    .description('the cellpay control plane: routing, switches, dead letters, credentials, audit')
    .option('--local', 'use the local infrastructure started by tools/infra (npm run infra:up)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => terminal.out(text.trimEnd()),
      writeErr: (text) => terminal.err(text.trimEnd()),
    });

  const run: CommandRunner = async (work) => {
    const closers: (() => Promise<void>)[] = [];
    let context: ControlPlaneContext | undefined;
    try {
      context = new ControlPlaneContext(
        resolveSettings(program.opts<{ local?: boolean }>().local === true, env),
      );
      await work({
        context,
        terminal,
        confirm: async (yes, question) => {
          if (yes === true) return true;
          const answer = await terminal.confirm(question);
          if (!answer)
            terminal.err('not confirmed; nothing changed (pass --yes to skip the question)');
          return answer;
        },
        onClose: (close) => closers.push(close),
      });
    } catch (error) {
      terminal.err(`cellctl: ${describeError(error)}`);
      exitCode = 1;
    } finally {
      for (const close of closers.reverse()) await close().catch(() => undefined);
      await context?.close();
    }
  };

  registerGlobalCommands(program, run);
  registerSwitchCommands(program, run);
  registerDeadLetterCommands(program, run);
  registerCredentialCommands(program, run);
  registerReconcileCommand(program, run);
  registerStatusCommand(program, run);
  registerMigrateCommands(program, run, env);
  registerTopologyCommands(program, run);
  registerFailoverCommands(program, run, env);
  registerDrillCommands(program, run, env);
  program
    .command('audit')
    .description('the latest audit records: who changed what, when')
    .option('--limit <n>', 'how many (at most 500)', '20')
    .action((options: { limit: string }) =>
      run(async ({ context, terminal: out }) => {
        const records = await new AuditLog(context.globalPool()).latest(Number(options.limit));
        out.out(
          table(
            ['when', 'actor', 'action', 'subject'],
            records.map((r) => [r.createdAt.toISOString(), r.actor, r.action, r.subject]),
          ),
        );
      }),
    );

  try {
    await program.parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    throw error;
  }
  return exitCode;
}

/** The error as an operator should read it, with the next step when there is an obvious one. */
function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if ((error as { code?: string }).code === 'ER_NO_SUCH_TABLE') {
    return `${message}: the global schema is not migrated; run 'cellctl migrate-global' first`;
  }
  return message;
}
