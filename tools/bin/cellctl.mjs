#!/usr/bin/env node
// `npx cellctl ...` / `npm run cellctl -- ...`: the control-plane CLI, built on first use.
import { runApp } from './run-app.mjs';

runApp('cellctl', process.argv.slice(2));
