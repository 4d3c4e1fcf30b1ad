// `npm start`: the whole platform in one process on the embedded default (in-memory adapters, an
// in-process event bus), for a newcomer's first look. The gateway issue wires it up; until then it
// prints what is available and exits cleanly.
const lines = [
  'cellpay platform (embedded mode)',
  '',
  'The gateway and cells are not wired into `npm start` yet.',
  'Available today:',
  '  npm test               unit tests, then integration tests against real MariaDB, Redis, Kafka',
  '  npm run infra:up       start the local infrastructure (see tools/infra/README.md)',
  '  npm run infra:status   show what runs where',
  '  npm run infra:down     stop what infra:up started',
];
process.stdout.write(`${lines.join('\n')}\n`);
