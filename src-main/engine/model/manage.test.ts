import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import AdmZip from 'adm-zip';
import { XumxError } from '../errors.ts';
import { importModel, removeModel } from './manage.ts';
import { bundledModelsDir, scanModels } from './registry.ts';
import { writeModelFolder } from './testing/model-folder.ts';

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'xumx-manage-'));
  const modelsDir = join(root, 'models');
  return {
    root,
    modelsDir,
    opts: { modelsDir, modelDirs: [bundledModelsDir(), modelsDir] },
    done: () => rm(root, { recursive: true, force: true }),
  };
}

const rejectsWith = (p: Promise<unknown>, code: string, ...mentions: (string | RegExp)[]) =>
  assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof XumxError, String(err));
    assert.equal(err.code, code, err.message);
    for (const m of mentions)
      assert.match(err.message, typeof m === 'string' ? new RegExp(m.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : m);
    return true;
  });

/** Only the installed model folders: no temporary or half-written siblings. */
const userFolders = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).sort();

describe('importing and removing models', () => {
  test('imports a model folder as an imported model the scan lists', async () => {
    const t = await setup();
    const src = await writeModelFolder(join(t.root, 'mine'), { id: 'mine' });
    const r = await importModel(src.dir, t.opts);
    assert.equal(r.dir, join(t.modelsDir, 'mine'));
    const scan = await scanModels([t.modelsDir]);
    assert.deepEqual(
      scan.models.map((m) => m.manifest.id),
      ['mine'],
    );
    assert.equal(JSON.parse(await readFile(join(r.dir, 'origin.json'), 'utf8')).origin, 'imported');
    assert.deepEqual(await userFolders(t.modelsDir), ['mine']);
    await t.done();
  });

  test('imports a .zip of a model folder, with the folder at the top or inside', async () => {
    const t = await setup();
    const src = await writeModelFolder(join(t.root, 'zipped'), { id: 'zipped' });
    const inFolder = new AdmZip();
    inFolder.addLocalFolder(src.dir, 'zipped');
    inFolder.writeZip(join(t.root, 'a.zip'));
    await importModel(join(t.root, 'a.zip'), t.opts);
    const flat = new AdmZip();
    flat.addLocalFolder(src.dir);
    flat.writeZip(join(t.root, 'b.zip'));
    await importModel(join(t.root, 'b.zip'), t.opts);
    assert.deepEqual(await userFolders(t.modelsDir), ['zipped']);
    await t.done();
  });

  test('refuses a model whose file does not match its manifest, or whose network breaks the contract, and installs nothing', async () => {
    const t = await setup();
    const corrupt = await writeModelFolder(join(t.root, 'corrupt'), {
      id: 'corrupt',
      manifestPatch: { sha256: 'ab'.repeat(32) },
    });
    await rejectsWith(importModel(corrupt.dir, t.opts), 'MODEL_CORRUPT', 'sha256');
    const wrongInput = await writeModelFolder(join(t.root, 'wrong'), { id: 'wrong', inputName: 'spectrogram' });
    await rejectsWith(importModel(wrongInput.dir, t.opts), 'MODEL_BAD_SHAPE', 'mix_mag', 'spectrogram (float32)');
    const testOnly = await writeModelFolder(join(t.root, 'random'), {
      id: 'random',
      manifestPatch: { test_only: true },
    });
    await rejectsWith(importModel(testOnly.dir, t.opts), 'MODEL_BAD_MANIFEST', 'test-only');
    await writeFile(join(t.root, 'notes.txt'), 'hello');
    await rejectsWith(importModel(join(t.root, 'notes.txt'), t.opts), 'BAD_ARGUMENT', 'x-umx.h5', 'models/README.md');
    await rejectsWith(importModel(join(t.root, 'nothing-here'), t.opts), 'FILE_NOT_FOUND', 'nothing-here');
    assert.deepEqual(await userFolders(t.modelsDir), []);
    await t.done();
  });

  test('refuses a zip whose entries point outside it, or that holds no manifest', async () => {
    const t = await setup();
    const src = await writeModelFolder(join(t.root, 'evil'), { id: 'evil' });
    const evil = new AdmZip();
    evil.addLocalFolder(src.dir);
    evil.addFile('x.txt', Buffer.from('x'));
    evil.getEntries().find((e) => e.entryName === 'x.txt')!.entryName = '../../escaped.txt';
    evil.writeZip(join(t.root, 'evil.zip'));
    await rejectsWith(importModel(join(t.root, 'evil.zip'), t.opts), 'BAD_ARGUMENT', 'outside the archive');
    assert.ok(!existsSync(join(t.root, 'escaped.txt')));
    const empty = new AdmZip();
    empty.addFile('readme.txt', Buffer.from('no model here'));
    empty.writeZip(join(t.root, 'empty.zip'));
    await rejectsWith(importModel(join(t.root, 'empty.zip'), t.opts), 'MODEL_BAD_MANIFEST', 'no manifest.json');
    assert.deepEqual(
      (await userFolders(t.modelsDir)).filter((n) => n !== 'evil'),
      [],
    );
    await t.done();
  });

  test("refuses an import whose id is the bundled model's", async () => {
    const t = await setup();
    const bundledId = (await scanModels([bundledModelsDir()])).models[0].manifest.id;
    const src = await writeModelFolder(join(t.root, 'clash'), { id: bundledId });
    await rejectsWith(importModel(src.dir, t.opts), 'BAD_ARGUMENT', 'comes with the app');
    await t.done();
  });

  test('refuses an import that does not fit on the disk, saying how much is needed and free', async () => {
    const t = await setup();
    const src = await writeModelFolder(join(t.root, 'big'), { id: 'big' });
    const statfs = async () => ({ bavail: 0, bsize: 4096 });
    await rejectsWith(
      importModel(src.dir, { ...t.opts, statfs }),
      'DISK_FULL',
      /needs \d+ MB of free disk space, only 0 MB are free/,
    );
    assert.deepEqual(await userFolders(t.modelsDir), []);
    await t.done();
  });

  test('removes an imported model and refuses to remove the bundled one', async () => {
    const t = await setup();
    const src = await writeModelFolder(join(t.root, 'gone'), { id: 'gone' });
    await importModel(src.dir, t.opts);
    await removeModel('gone', t.opts.modelDirs);
    assert.deepEqual(await userFolders(t.modelsDir), []);
    const bundledId = (await scanModels([bundledModelsDir()])).models[0].manifest.id;
    await rejectsWith(removeModel(bundledId, t.opts.modelDirs), 'MODEL_NOT_REMOVABLE', 'comes with the app');
    assert.ok(existsSync(join(bundledModelsDir(), bundledId, 'manifest.json')));
    await rejectsWith(removeModel('gone', t.opts.modelDirs), 'MODEL_NOT_FOUND', '"gone"');
    await t.done();
  });
});
