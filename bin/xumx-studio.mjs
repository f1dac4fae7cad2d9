#!/usr/bin/env node
// Entry point of `npx xumx-studio`: runs the TypeScript CLI through tsx's loader (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli/main.ts');

let cancel = null;
let interrupts = 0;
process.on('SIGINT', () => {
  interrupts += 1;
  if (cancel && interrupts === 1) {
    process.stderr.write('\nxumx-studio: cancelling (removing partial output)… press Ctrl-C again to quit at once\n');
    cancel();
  } else {
    process.exit(130);
  }
});

process.exitCode = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: Boolean(process.stderr.isTTY),
  columns: process.stderr.columns || 80,
  env: process.env,
  onInterrupt: (fn) => { cancel = fn; },
});
