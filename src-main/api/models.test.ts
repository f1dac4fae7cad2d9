// The Models backend through the same dispatch the doors use, against a local server: install with progress,
// pause and resume (also after a restart), cancel, integrity and disk-space refusals, failures that leave nothing
// behind, import, remove and the default model. The conversion is a stand-in here (the real one, on its worker
// thread, runs in test/integration/models-api.test.ts); the downloads, checks and files are real.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversionTmpDir, type ImportOptions, type ImportResult } from '../engine/convert/import-xumx.ts';
import { XUMX_OFFICIAL, type PublishedWeights } from '../engine/convert/official.ts';
import { originText } from '../engine/model/origin.ts';
import { bundledModelsDir } from '../engine/model/registry.ts';
import { writeModelFolder } from '../engine/model/testing/model-folder.ts';
import type { StatFs } from '../engine/convert/disk-space.ts';
import type { ModelInstallView, ModelsView, StudioEvent } from './contract.ts';
import { dispatchCall } from './dispatch.ts';
import { withModelFallback } from './models.ts';
import { StudioService } from './service.ts';
import { defaultSettings, openSettingsStore } from './settings-store.ts';
import { FakeEngine, MemoryAudio } from './testing/fakes.ts';
import { hdf5Lookalike, startWeightsServer, type WeightsServer } from './testing/weights-server.ts';

const WEIGHTS = hdf5Lookalike(600_000);
let server: WeightsServer;
before(async () => {
  server = await startWeightsServer({ '/x-umx.h5': WEIGHTS });
});
after(() => server.close());

/** Stands in for the conversion: assembles a contract model folder beside the target, then renames it in place. */
function fakeConvert(opts: { hold?: boolean; fail?: boolean } = {}) {
  return async (o: ImportOptions): Promise<ImportResult> => {
    o.onStage?.('validate');
    const tmp = o.tmpDir ?? conversionTmpDir(o.modelsDir, o.source.id);
    await writeModelFolder(tmp, { id: o.source.id, metrics: o.source.metrics });
    await writeFile(join(tmp, 'origin.json'), originText(o.installedAs ?? 'imported', o.origin ?? o.h5Path));
    if (opts.fail)
      throw Object.assign(
        new (await import('../engine/errors.ts')).XumxError(
          'CONVERT_FAILED',
          `${o.h5Path}: fc1_bass/affine/W has shape (2974, 16), expected (2974, 512)`,
        ),
      );
    o.onStage?.('build');
    // A held conversion waits to be cancelled and leaves its half-built folder, as a killed thread would.
    if (opts.hold)
      await new Promise((_, reject) =>
        o.signal?.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))),
      );
    const dir = join(o.modelsDir, o.source.id);
    await rename(tmp, dir);
    return {
      id: o.source.id,
      dir,
      manifestPath: join(dir, 'manifest.json'),
      onnxPath: join(dir, 'model.onnx'),
      sha256: '',
      size: 0,
      notes: [],
    };
  };
}

interface Setup {
  dir: string;
  userDir: string;
  service: StudioService;
  events: StudioEvent[];
  call(method: string, ...args: unknown[]): Promise<unknown>;
  fail(method: string, ...args: unknown[]): Promise<{ code: string; message: string }>;
  /** A second service on the same folders: the app started again. */
  restart(): Promise<Setup>;
  done(): Promise<void>;
}

async function setup(
  opts: {
    path?: string;
    source?: Partial<PublishedWeights>;
    statfs?: StatFs;
    convert?: ReturnType<typeof fakeConvert>;
    dir?: string;
  } = {},
): Promise<Setup> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'xumx-models-api-')));
  const userDir = join(dir, 'models');
  const audio = new MemoryAudio();
  const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
  const source: PublishedWeights = { ...XUMX_OFFICIAL, ...opts.source };
  const service = new StudioService({
    engine: new FakeEngine(audio),
    audio,
    settings,
    capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    models: {
      userDir,
      modelDirs: [bundledModelsDir(), userDir],
      installable: [source],
      urlFor: () => `${server.base}${opts.path ?? '/x-umx.h5'}`,
      statfs: opts.statfs,
      convert: opts.convert ?? fakeConvert(),
    },
  });
  const events: StudioEvent[] = [];
  service.onEvent((e) => events.push(e));
  const t: Setup = {
    dir,
    userDir,
    service,
    events,
    async call(method, ...args) {
      const r = await dispatchCall(service, method, args);
      if (!r.ok) throw new Error(`${method}: ${r.error.code} ${r.error.message}`);
      return r.value;
    },
    async fail(method, ...args) {
      const r = await dispatchCall(service, method, args);
      assert.equal(r.ok, false, `${method} should fail`);
      return (r as { ok: false; error: { code: string; message: string } }).error;
    },
    restart: async () => {
      await service.dispose();
      return setup({ ...opts, dir });
    },
    async done() {
      await service.dispose();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}

const installEvents = (events: StudioEvent[]) => events.flatMap((e) => (e.type === 'model-install' ? [e.install] : []));

async function until(events: StudioEvent[], pred: (v: ModelInstallView) => boolean): Promise<ModelInstallView> {
  for (let i = 0; i < 1000; i++) {
    const hit = installEvents(events).find(pred);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(
    `no such install event; saw ${JSON.stringify(installEvents(events).map((v) => [v.state, v.stage, v.received]))}`,
  );
}

/** What is in the user models folder besides installed models: downloads and temporary folders. */
async function leftovers(userDir: string): Promise<string[]> {
  const top = (await readdir(userDir).catch(() => [] as string[])).filter(
    (n) => n.startsWith('.') && n !== '.downloads',
  );
  const downloads = await readdir(join(userDir, '.downloads')).catch(() => [] as string[]);
  return [...top, ...downloads.map((n) => `.downloads/${n}`)];
}

describe('installing published weights through the API', () => {
  test('reports bytes, total, speed and time left, then lists the model as downloaded with its published quality', async () => {
    const t = await setup({ path: '/slow/x-umx.h5' });
    const started = (await t.call('installModel', 'xumx-official')) as ModelInstallView;
    assert.equal(started.state, 'running');
    const done = await until(t.events, (v) => v.state === 'done');
    assert.equal(done.received, WEIGHTS.length);
    const downloading = installEvents(t.events).filter((v) => v.stage === 'download' && v.state === 'running');
    assert.ok(
      downloading.some((v) => v.received > 0 && v.received < WEIGHTS.length && v.total === WEIGHTS.length),
      'progress moved',
    );
    assert.ok(
      downloading.some((v) => (v.bytesPerSecond ?? 0) > 0 && v.secondsLeft !== null),
      'speed and time left were reported',
    );
    assert.ok(
      installEvents(t.events).some((v) => v.stage === 'validate'),
      'the conversion stages follow',
    );
    const view = t.events.findLast((e) => e.type === 'models') as { models: ModelsView } | undefined;
    const m = view?.models.models.find((x) => x.id === 'xumx-official');
    assert.equal(m?.origin, 'downloaded');
    assert.deepEqual(
      m?.quality.map((q) => [q.kind, q.set]),
      [['published', 'MUSDB18 test set']],
    );
    assert.ok((m?.sizeOnDisk ?? 0) > 0);
    assert.deepEqual(await leftovers(t.userDir), []);
    assert.equal(((await t.call('getModels')) as ModelsView).installable[0].installed, true);
    await t.done();
  });

  test('pause keeps the partial download; after a restart it shows as paused and resumes with a Range request', async () => {
    const t = await setup({ path: '/slow/x-umx.h5' });
    await t.call('installModel', 'xumx-official');
    await until(t.events, (v) => v.received >= 100_000);
    const paused = (await t.call('pauseModelInstall', 'xumx-official')) as ModelInstallView;
    assert.equal(paused.state, 'paused');
    assert.deepEqual(await leftovers(t.userDir), ['.downloads/x-umx.h5.partial']);

    const again = await t.restart();
    const view = (await again.call('getModels')) as ModelsView;
    assert.equal(view.installs[0].state, 'paused');
    assert.ok(
      view.installs[0].received >= 100_000,
      `the paused install shows ${view.installs[0].received} bytes received`,
    );
    const kept = view.installs[0].received;
    server.ranges.length = 0;
    await again.call('installModel', 'xumx-official');
    await until(again.events, (v) => v.state === 'done');
    assert.equal(server.ranges[0], `bytes=${kept}-`);
    assert.deepEqual(await leftovers(again.userDir), []);
    assert.ok(existsSync(join(again.userDir, 'xumx-official', 'manifest.json')));
    await again.done();
  });

  test('cancel during the download removes the partial file', async () => {
    const t = await setup({ path: '/slow/x-umx.h5' });
    await t.call('installModel', 'xumx-official');
    await until(t.events, (v) => v.received >= 100_000);
    assert.equal(((await t.call('cancelModelInstall', 'xumx-official')) as ModelInstallView).state, 'cancelled');
    assert.deepEqual(await leftovers(t.userDir), []);
    assert.deepEqual(((await t.call('getModels')) as ModelsView).installs, []);
    await t.done();
  });

  test('cancel during the conversion removes the download and the half-converted folder', async () => {
    const t = await setup({ convert: fakeConvert({ hold: true }) });
    await t.call('installModel', 'xumx-official');
    await until(t.events, (v) => v.stage === 'build');
    assert.ok(
      (await leftovers(t.userDir)).some((n) => n.startsWith('.xumx-official.partial-')),
      'the conversion had started its folder',
    );
    await t.call('cancelModelInstall', 'xumx-official');
    assert.deepEqual(await leftovers(t.userDir), []);
    assert.ok(!existsSync(join(t.userDir, 'xumx-official')));
    await t.done();
  });

  test('a file whose sha256 is not the published one fails as DOWNLOAD_CORRUPT and is removed', async () => {
    const t = await setup({ source: { size: WEIGHTS.length, sha256: 'ab'.repeat(32) } });
    await t.call('installModel', 'xumx-official');
    const failed = await until(t.events, (v) => v.state === 'failed');
    assert.equal(failed.error?.code, 'DOWNLOAD_CORRUPT');
    assert.match(failed.error?.message ?? '', /sha256 .*published abababababab/);
    assert.deepEqual(await leftovers(t.userDir), []);
    assert.ok(!existsSync(join(t.userDir, 'xumx-official')));
    await t.done();
  });

  test('refuses to start without room for the download and the conversion, naming both amounts', async () => {
    const statfs: StatFs = async () => ({ bavail: 10, bsize: 4096 });
    const t = await setup({ statfs });
    server.ranges.length = 0;
    await t.call('installModel', 'xumx-official');
    const failed = await until(t.events, (v) => v.state === 'failed');
    assert.equal(failed.error?.code, 'DISK_FULL');
    assert.match(failed.error?.message ?? '', /needs \d+ MB of free disk space, only 1 MB are free/);
    assert.equal(server.ranges.length, 0, 'nothing was requested');
    assert.deepEqual(await leftovers(t.userDir), []);
    await t.done();
  });

  test('HTTP errors, an unreachable server and a wrong file end with their own code and leave no model', async () => {
    for (const [path, code, mention] of [
      ['/missing.h5', 'DOWNLOAD_FAILED', /HTTP 404/],
      ['http://127.0.0.1:1/x-umx.h5', 'NO_NETWORK', /cannot reach the server/],
    ] as const) {
      const t = await setup({ path: path.startsWith('http') ? '' : path });
      if (path.startsWith('http'))
        (t.service as unknown as { deps: { models: { urlFor: () => string } } }).deps.models.urlFor = () => path;
      await t.call('installModel', 'xumx-official');
      const failed = await until(t.events, (v) => v.state === 'failed');
      assert.equal(failed.error?.code, code, failed.error?.message);
      assert.match(failed.error?.message ?? '', mention);
      assert.deepEqual(await leftovers(t.userDir), []);
      await t.done();
    }
    const t = await setup({ convert: fakeConvert({ fail: true }) });
    await t.call('installModel', 'xumx-official');
    const failed = await until(t.events, (v) => v.state === 'failed');
    assert.equal(failed.error?.code, 'CONVERT_FAILED');
    assert.match(failed.error?.message ?? '', /expected \(2974, 512\)/);
    assert.deepEqual(await leftovers(t.userDir), []);
    assert.ok(!existsSync(join(t.userDir, 'xumx-official')));
    await t.done();
  });
});

describe('choosing, importing and removing models through the API', () => {
  test('imports a model folder, makes it the default, and falls back to the first model once it is removed', async () => {
    const t = await setup();
    const src = await writeModelFolder(join(t.dir, 'mine'), { id: 'mine.v2' });
    const view = (await t.call('importModel', src.dir)) as ModelsView;
    assert.equal(view.models.find((m) => m.id === 'mine.v2')?.origin, 'imported');
    const bundledId = view.models[0].id;
    assert.equal(view.defaultModelId, bundledId, 'the first installed model until one is chosen');
    assert.equal(((await t.call('setDefaultModel', 'mine.v2')) as ModelsView).defaultModelId, 'mine.v2');
    assert.equal((await t.service.getSettings()).modelId, 'mine.v2');
    assert.equal((await t.fail('setDefaultModel', 'not-installed')).code, 'MODEL_NOT_FOUND');

    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const after = (await t.call('removeModel', 'mine.v2')) as ModelsView;
    assert.equal(after.defaultModelId, bundledId);
    assert.equal((await t.service.getSettings()).modelId, null);
    assert.equal((await t.service.listJobs()).find((j) => j.id === job.id)?.state, 'done', 'the song keeps its stems');
    assert.ok(t.events.some((e) => e.type === 'models'));

    const refused = await t.fail('removeModel', bundledId);
    assert.equal(refused.code, 'MODEL_NOT_REMOVABLE');
    await t.done();
  });

  test('refuses calls with a bad model id or path before they reach the service', async () => {
    const t = await setup();
    for (const [method, args] of [
      ['installModel', ['../etc']],
      ['removeModel', ['Upper']],
      ['setDefaultModel', [42]],
      ['importModel', ['']],
      ['importModel', ['/a', 'B A D']],
    ] as const) {
      assert.equal((await t.fail(method, ...args)).code, 'BAD_ARGUMENT', method);
    }
    assert.equal((await t.fail('installModel', 'umx-hq')).code, 'MODEL_NOT_FOUND');
    await t.done();
  });

  test('a song asks for a model that is gone and is separated with the first installed one', async () => {
    const audio = new MemoryAudio();
    const engine = new FakeEngine(audio);
    const wrapped = withModelFallback(engine);
    await wrapped.separate({ input: '/songs/a.wav', outDir: '/out', modelId: 'removed-model' });
    await wrapped.separate({ input: '/songs/b.wav', outDir: '/out', modelId: 'fake' });
    assert.deepEqual(
      engine.requests.map((r) => r.modelId),
      [undefined, 'fake'],
    );
  });

  test('passes a part of a song to the engine (previewRegion needs it) with the same fallback', async () => {
    const engine = new FakeEngine(new MemoryAudio());
    const wrapped = withModelFallback(engine);
    assert.ok(wrapped.renderRegion, 'the wrapped engine renders parts');
    const r = await wrapped.renderRegion(
      { input: '/songs/a.wav', outDir: '/out', modelId: 'removed-model' },
      { start: 10, frames: 20 },
    );
    assert.equal(r.ok && r.frames, 20);
    assert.deepEqual(
      engine.regions.map((x) => [x.request.modelId, x.region]),
      [[undefined, { start: 10, frames: 20 }]],
    );
    const bare = withModelFallback(Object.assign(new FakeEngine(new MemoryAudio()), { renderRegion: undefined }));
    assert.equal(bare.renderRegion, undefined, 'nor invents one the engine lacks');
  });
});
