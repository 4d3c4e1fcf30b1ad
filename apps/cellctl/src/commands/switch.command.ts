import type { Command } from 'commander';

import {
  publishSwitches,
  switchDefinition,
  switchDefinitions,
  switchRedisKeys,
  SwitchStore,
} from '@cellpay/global-data-access';

import type { CommandRunner } from '../cellctl';
import { table } from '../terminal';

export function registerSwitchCommands(program: Command, run: CommandRunner): void {
  const switches = program.command('switch').description('degradation switches (docs/switches.md)');
  switches
    .command('list', { isDefault: true })
    .description('every switch with its value and meaning')
    .option('--json', 'print the values as JSON')
    .action((options: { json?: boolean }) =>
      run(async ({ context, terminal }) => {
        const document = await new SwitchStore(context.globalPool()).load();
        if (document === undefined)
          throw new Error('the global schema is not migrated (cellctl migrate-global)');
        if (options.json === true) {
          terminal.out(
            JSON.stringify(
              { version: document.version.toString(), values: document.value },
              null,
              2,
            ),
          );
          return;
        }
        terminal.out(`version ${document.version}`);
        terminal.out(
          table(
            ['switch', 'value', 'type', 'meaning'],
            switchDefinitions.map((definition) => [
              definition.name,
              JSON.stringify(document.value[definition.key]),
              definition.type,
              definition.description,
            ]),
          ),
        );
      }),
    );
  switches
    .command('set <name> <value>')
    .description('set a switch; the value is JSON (true, false, {"merchant-1": 500})')
    .option('--yes', 'do not ask for confirmation')
    .action((name: string, value: string, options: { yes?: boolean }) =>
      run(async ({ context, terminal, confirm }) => {
        const definition = switchDefinition(name);
        let parsed: unknown;
        try {
          parsed = JSON.parse(value);
        } catch {
          throw new Error(`the value must be JSON, e.g. true or {"merchant-1": 500}; got ${value}`);
        }
        definition.parse(parsed);
        const store = new SwitchStore(context.globalPool());
        const before = await store.load();
        terminal.out(
          `${name}: ${JSON.stringify(before?.value[definition.key])} -> ${JSON.stringify(parsed)}`,
        );
        if (!(await confirm(options.yes, `Set ${name}?`))) return;
        const document = await store.set(name, parsed, context.settings.actor);
        await publishSwitches(
          context.redisClient(),
          switchRedisKeys(context.settings.redisPrefix),
          document,
        );
        terminal.out(`${name} set at switch version ${document.version}`);
      }),
    );
}
