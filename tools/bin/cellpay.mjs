#!/usr/bin/env node
// `npx cellpay ...` / `npm run cellpay -- ...`: the merchant and wallet CLI, built on first use.
import { runApp } from './run-app.mjs';

runApp('cellpay', process.argv.slice(2));
