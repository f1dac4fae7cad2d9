// The Models API end to end with the real conversion on its worker thread: a generated official-layout x-umx.h5
// served by a local HTTP server is installed through dispatch (the call both doors make), listed with its details,
// and removed; a file of the wrong layout is refused naming the parameters expected and found.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelInstallView, ModelsView, StudioEvent } from '../../src-main/api/contract.ts';
import { dispatchCall } from '../../src-main/api/dispatch.ts';
import { fakeStudio } from '../../src-main/api/testing/studio.ts';
import { startWeightsServer, type WeightsServer } from '../../src-main/api/testing/weights-server.ts';
import { bundledModelsDir } from '../../src-main/engine/model/registry.ts';
import { hasH5py, writeNnablaFixture } from './convert-fixtures.ts';

const skip = hasH5py ? false : 'needs Debian python3 with h5py and numpy (python3-h5py)';

describe('the Models API with the real conversion', { skip }, () => {
  let dir: string;
  let server: WeightsServer;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xumx-models-api-'));
    writeNnablaFixture(join(dir, 'full.h5'), 5);
    writeNnablaFixture(join(dir, 'small.h5'), 6, ['--hidden', '16']);
    server = await startWeightsServer({ '/x-umx.h5': readFileSync(join(dir, 'full.h5')) });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('installs the official layout through dispatch, lists it with its details, and removes it', async () => {
    const userDir = join(dir, 'models');
    const studio = await fakeStudio('xumx-models-api-service-', {
      deps: () => ({
        models: { userDir, modelDirs: [bundledModelsDir(), userDir], urlFor: () => `${server.base}/x-umx.h5` },
      }),
    });
    const { service } = studio;
    const events: StudioEvent[] = [];
    service.onEvent((e) => events.push(e));
    const call = async (method: string, ...args: unknown[]) => {
      const r = await dispatchCall(service, method, args);
      if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
      return r.value;
    };

    await call('installModel', 'xumx-official');
    let last: ModelInstallView | undefined;
    for (let i = 0; i < 6000 && last?.state !== 'done' && last?.state !== 'failed'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      last = events.flatMap((e) => (e.type === 'model-install' ? [e.install] : [])).at(-1);
    }
    assert.equal(last?.state, 'done', JSON.stringify(last?.error));
    const stages = [...new Set(events.flatMap((e) => (e.type === 'model-install' ? [e.install.stage] : [])))];
    assert.deepEqual(stages, ['download', 'validate', 'read', 'build', 'write']);

    const view = (await call('getModels')) as ModelsView;
    const m = view.models.find((x) => x.id === 'xumx-official');
    assert.ok(m, 'the installed model is listed');
    assert.equal(m.origin, 'downloaded');
    assert.equal(m.precision, 'float32');
    assert.equal(m.quality[0]?.kind, 'published');
    assert.ok(m.sizeOnDisk > 100e6, `${m.sizeOnDisk} bytes on disk`);
    assert.deepEqual(readdirSync(userDir).sort(), ['.downloads', 'xumx-official']);
    assert.deepEqual(readdirSync(join(userDir, '.downloads')), []);

    const refused = await dispatchCall(service, 'importModel', [join(dir, 'small.h5'), 'small-xumx']);
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.error.code, 'CONVERT_FAILED');
      assert.match(refused.error.message, /has shape \(2974, 16\), expected \(2974, 512\)/);
    }

    const after = (await call('removeModel', 'xumx-official')) as ModelsView;
    assert.ok(!after.models.some((x) => x.id === 'xumx-official'));
    assert.deepEqual(
      readdirSync(userDir).filter((n) => !n.startsWith('.')),
      [],
    );
    await service.dispose();
    await studio.done();
  });
});
