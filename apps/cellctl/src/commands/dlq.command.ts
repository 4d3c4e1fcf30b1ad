import type { Command } from 'commander';

import { createIdempotentProducer } from '@cellpay/connections';
import { AuditLog } from '@cellpay/global-data-access';
import { DeadLetterQueue } from '@cellpay/settlement-messaging';

import type { CommandRunner, Session } from '../cellctl';
import { table } from '../terminal';

const cellIdPattern = /^cell-[0-9]{1,3}$/;

/** Opens a cell's dead-letter queue with a producer that is closed when the command ends. */
async function openDeadLetters(session: Session, cell: string): Promise<DeadLetterQueue> {
  if (!cellIdPattern.test(cell)) throw new Error(`--cell takes a cell ID like cell-2, got ${cell}`);
  const producer = createIdempotentProducer(session.context.kafkaClient());
  await producer.connect();
  session.onClose(() => producer.disconnect());
  return new DeadLetterQueue(session.context.kafkaClient(), producer, {
    cellId: cell,
    topicPrefix: session.context.settings.topicPrefix,
    batchMax: 1_000,
    readTimeoutMs: 30_000,
  });
}

export function registerDeadLetterCommands(program: Command, run: CommandRunner): void {
  const dlq = program.command('dlq').description('settlement events that could not apply');
  dlq
    .command('list')
    .description('dead letters of a cell not yet replayed, with their errors')
    .requiredOption('--cell <cell>', 'the cell whose inbound events failed')
    .option('--json', 'print as JSON')
    .action((options: { cell: string; json?: boolean }) =>
      run(async (session) => {
        const letters = await (await openDeadLetters(session, options.cell)).pending();
        if (options.json === true) {
          const view = letters.map(({ offset, eventId, attempts, error, originalTopic }) => ({
            offset,
            eventId,
            attempts,
            error,
            originalTopic,
          }));
          session.terminal.out(JSON.stringify(view, null, 2));
          return;
        }
        session.terminal.out(`${letters.length} dead letter(s) waiting in ${options.cell}`);
        if (letters.length > 0) {
          const rows = letters.map((l) => [l.offset, l.eventId, String(l.attempts), l.error]);
          session.terminal.out(table(['offset', 'event', 'attempts', 'error'], rows));
        }
      }),
    );
  dlq
    .command('replay')
    .description('put every waiting dead letter back on its inbound topic (applies at most once)')
    .requiredOption('--cell <cell>', 'the cell whose dead letters to replay')
    .option('--yes', 'do not ask for confirmation')
    .action((options: { cell: string; yes?: boolean }) =>
      run(async (session) => {
        const deadLetters = await openDeadLetters(session, options.cell);
        const depth = await deadLetters.depth();
        session.terminal.out(`${depth} dead letter(s) waiting in ${options.cell}`);
        if (depth === 0 || !(await session.confirm(options.yes, `Replay ${depth} event(s)?`)))
          return;
        const { replayed } = await deadLetters.replay();
        await new AuditLog(session.context.globalPool()).record({
          actor: session.context.settings.actor,
          action: 'dlq.replay',
          subject: options.cell,
          after: { replayed },
        });
        session.terminal.out(`replayed ${replayed} event(s)`);
      }),
    );
}
