import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CliIo } from './io.ts';
import { main } from './main.ts';

function captureIo(): CliIo & { text(): string } {
  let out = '';
  return {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      out += t;
    },
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

test('models import installs a model folder and refuses one whose network breaks the contract', async () => {
  const { mkdtemp, rm, readdir } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { writeModelFolder } = await import('../engine/model/testing/model-folder.ts');
  const dir = await mkdtemp(join(tmpdir(), 'xumx-cli-import-'));
  try {
    const good = await writeModelFolder(join(dir, 'good'), { id: 'good' });
    const bad = await writeModelFolder(join(dir, 'bad'), { id: 'bad', inputName: 'spectrogram' });
    const modelsDir = join(dir, 'models');
    const ok = captureIo();
    assert.equal(await main(['models', 'import', good.dir, '--models-dir', modelsDir], ok), 0, ok.text());
    assert.match(ok.text(), /installed model "good"/);
    const refused = captureIo();
    assert.equal(await main(['models', 'import', bad.dir, '--models-dir', modelsDir, '--json'], refused), 1);
    assert.equal(JSON.parse(refused.text()).error.code, 'MODEL_BAD_SHAPE');
    assert.deepEqual(await readdir(modelsDir), ['good']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
