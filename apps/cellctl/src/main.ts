// Entry point of the cellctl process: the control-plane CLI: routing, failover, slot migration, switches, drills, reconciliation.
// The process is wired up by the issue that builds it; until then it says so and exits cleanly,
// so deployment manifests and the image can already name this entry point.
process.stdout.write('cellpay cellctl: not built yet; see README.md for what exists today.\n');
