// Entry point of the relay process: the settlement outbox relay and inbound-event consumer of one cell.
// The process is wired up by the issue that builds it; until then it says so and exits cleanly,
// so deployment manifests and the image can already name this entry point.
process.stdout.write('cellpay relay: not built yet; see README.md for what exists today.\n');
