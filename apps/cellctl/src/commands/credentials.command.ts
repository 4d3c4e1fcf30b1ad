import type { Command } from 'commander';

import {
  AuditLog,
  credentialScopes,
  CredentialStore,
  type CredentialScope,
} from '@cellpay/global-data-access';

import type { CommandRunner } from '../cellctl';

export function registerCredentialCommands(program: Command, run: CommandRunner): void {
  program
    .command('merchant-register <merchantId> <displayName>')
    .description('register a merchant in the global zone')
    .action((merchantId: string, displayName: string) =>
      run(async ({ context, terminal }) => {
        await new CredentialStore(context.globalPool(), context.secretBox()).registerMerchant(
          merchantId,
          displayName,
        );
        await new AuditLog(context.globalPool()).record({
          actor: context.settings.actor,
          action: 'merchant.register',
          subject: merchantId,
          after: { displayName },
        });
        terminal.out(`merchant ${merchantId} registered`);
      }),
    );
  program
    .command('credential-create')
    .description('create an API credential; its secret is printed once and never again')
    .requiredOption('--owner <id>', 'merchant ID or first-party client ID')
    .option('--first-party', 'the owner is a first-party backend, not a merchant')
    .requiredOption('--scopes <list>', `comma separated: ${credentialScopes.join(', ')}`)
    .option('--rate <perSecond>', 'sustained requests per second', '100')
    .option('--burst <requests>', 'burst size', '200')
    .action(
      (options: {
        owner: string;
        firstParty?: boolean;
        scopes: string;
        rate: string;
        burst: string;
      }) =>
        run(async ({ context, terminal }) => {
          const scopes = options.scopes
            .split(',')
            .map((scope) => scope.trim()) as CredentialScope[];
          const store = new CredentialStore(context.globalPool(), context.secretBox());
          const { keyId, secret } = await store.createCredential({
            ownerId: options.owner,
            ownerKind: options.firstParty === true ? 'first_party' : 'merchant',
            scopes,
            ratePerSecond: Number(options.rate),
            burst: Number(options.burst),
          });
          await new AuditLog(context.globalPool()).record({
            actor: context.settings.actor,
            action: 'credential.create',
            subject: keyId,
            after: { owner: options.owner, scopes },
          });
          terminal.out(`key id: ${keyId}`);
          terminal.out(`secret: ${secret.toString('base64url')}`);
          terminal.err('Store the secret now: it is kept only sealed and cannot be shown again.');
        }),
    );
}
