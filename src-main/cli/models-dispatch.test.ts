import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main, type CliIo } from './main.ts';

function captureIo(): CliIo & { text(): string } {
  let out = '';
  return {
    out: (t) => { out += t; },
    err: (t) => { out += t; },
    tty: false,
    columns: 80,
    env: {},
    onInterrupt: () => {},
    text: () => out,
  };
}

test('models import is reachable from the main command line and names a missing file', async () => {
  const io = captureIo();
  const code = await main(['models', 'import', '/no/such/x-umx.h5', '--models-dir', '/tmp/xumx-dispatch-models'], io);
  assert.notEqual(code, 0);
  assert.match(io.text(), /\/no\/such\/x-umx\.h5/);
});

test('help lists the models install and import commands', async () => {
  const io = captureIo();
  assert.equal(await main(['--help'], io), 0);
  assert.match(io.text(), /models install xumx-official/);
  assert.match(io.text(), /models import <x-umx\.h5>/);
});
