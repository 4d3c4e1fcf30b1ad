// Entry point of the cell process: one cell's payment, account and accounting services on its own MySQL shard.
// The process is wired up by the issue that builds it; until then it says so and exits cleanly,
// so deployment manifests and the image can already name this entry point.
process.stdout.write('cellpay cell: not built yet; see README.md for what exists today.\n');
