import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { pickModel, scanModels, userModelsDir } from './registry.ts';

function manifest(id: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `Model ${id}`,
    architecture: 'x-umx',
    sources: ['vocals', 'other'],
    sample_rate: 44100,
    n_fft: 4096,
    hop: 1024,
    file: 'model.onnx',
    sha256: 'cd'.repeat(32),
    size: 10,
    license: 'MIT',
    provenance: 'test',
    metrics: {},
    ...extra,
  };
}

function modelsRoot(models: Record<string, unknown>): string {
  const root = mkdtempSync(join(tmpdir(), 'xumx-registry-'));
  for (const [folder, m] of Object.entries(models)) {
    mkdirSync(join(root, folder));
    writeFileSync(join(root, folder, 'manifest.json'), typeof m === 'string' ? m : JSON.stringify(m));
  }
  return root;
}

describe('scanModels', () => {
  test('lists every model folder with a valid manifest, in folder order', async () => {
    const root = modelsRoot({ b: manifest('beta'), a: manifest('alpha') });
    mkdirSync(join(root, 'not-a-model'));
    const scan = await scanModels([root]);
    assert.deepEqual(
      scan.models.map((m) => m.manifest.id),
      ['alpha', 'beta'],
    );
    assert.equal(scan.models[0].dir, join(root, 'a'));
    assert.equal(scan.broken.length, 0);
  });

  test('hides test-only networks unless a test asks for them', async () => {
    const root = modelsRoot({ real: manifest('real'), rnd: manifest('random', { test_only: true }) });
    assert.deepEqual(
      (await scanModels([root])).models.map((m) => m.manifest.id),
      ['real'],
    );
    assert.deepEqual(
      (await scanModels([root], { allowTestModels: true })).models.map((m) => m.manifest.id),
      ['real', 'random'],
    );
  });

  test('keeps broken manifests aside with their reason, and lets the first folder win on duplicate ids', async () => {
    const first = modelsRoot({ x: manifest('same'), bad: '{not json' });
    const second = modelsRoot({ y: manifest('same', { name: 'shadowed' }) });
    const scan = await scanModels([first, '/no/such/folder', second]);
    assert.equal(scan.models.length, 1);
    assert.equal(scan.models[0].manifest.name, 'Model same');
    assert.equal(scan.broken[0].folder, 'bad');
    assert.equal(scan.broken[0].error.code, 'MODEL_BAD_MANIFEST');
  });
});

describe('pickModel', () => {
  test('says no model is installed and how to get one', async () => {
    const scan = await scanModels([modelsRoot({})]);
    assert.throws(
      () => pickModel(scan, undefined, ['/models']),
      (e: XumxError) =>
        e.code === 'NO_MODEL' && /models install xumx-official/.test(e.message) && /\/models/.test(e.message),
    );
  });

  test('names the installed models when the requested one is missing', async () => {
    const scan = await scanModels([modelsRoot({ a: manifest('alpha') })]);
    assert.throws(
      () => pickModel(scan, 'gamma', []),
      (e: XumxError) => e.code === 'MODEL_NOT_FOUND' && /alpha/.test(e.message),
    );
    assert.equal(pickModel(scan, undefined, []).manifest.id, 'alpha');
  });

  test('explains why a requested model folder cannot be used', async () => {
    const scan = await scanModels([modelsRoot({ broken: { ...manifest('broken'), hop: 512 } })]);
    assert.throws(
      () => pickModel(scan, 'broken', []),
      (e: XumxError) => e.code === 'MODEL_BAD_MANIFEST' && /hop 512/.test(e.message),
    );
  });
});

describe('userModelsDir', () => {
  test("follows each platform's convention for per-user data", () => {
    assert.match(userModelsDir('linux', { XDG_DATA_HOME: '/x' }), /^\/x\/xumx-studio\/models$/);
    assert.match(userModelsDir('win32', { APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }), /xumx-studio.models$/);
    assert.match(userModelsDir('darwin', {}), /Library\/Application Support\/xumx-studio\/models$/);
    assert.equal(userModelsDir('linux', { XUMX_STUDIO_MODELS: '/custom' }), '/custom');
  });
});
