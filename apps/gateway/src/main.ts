// Entry point of the gateway process: the gRPC edge: authenticate, rate-limit, find the cell, forward.
// The process is wired up by the issue that builds it; until then it says so and exits cleanly,
// so deployment manifests and the image can already name this entry point.
process.stdout.write('cellpay gateway: not built yet; see README.md for what exists today.\n');
