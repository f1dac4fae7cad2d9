// The Models view's backend: lists installed models with their details, keeps the default model for new songs,
// installs published weights as a pausable job, imports and removes models. The engine modules do the work
// (engine/convert, engine/model/manage.ts) and the CLI uses the same ones; this file only keeps the app's state
// and turns it into events, which both doors forward like job events.
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  asXumxError,
  describeModel,
  downloadPath,
  importModel,
  type ImportOptions,
  type ImportResult,
  type InstallProgress,
  installPublishedXumx,
  installSpaceNeeded,
  partialPath,
  type PublishedWeights,
  removeModel,
  scanModels,
  type StatFs,
  XUMX_OFFICIAL,
  XumxError,
  xumxParameterBytes,
} from '../engine/index.ts';
import type { ModelInfo, Region, SeparateRequest } from '../engine/types.ts';
import type { InstallableModel, ModelInstallView, ModelsView, StudioEvent } from './contract.ts';
import type { EnginePort } from './ports.ts';
import type { SettingsStore } from './settings-store.ts';

export interface ModelsServiceDeps {
  /** Where downloads and imports are installed (the per-user models folder). */
  userDir: string;
  /** Every folder scanned for models, in the engine's order (bundled first). */
  modelDirs: string[];
  allowTestModels?: boolean;
  settings: SettingsStore;
  emit(e: StudioEvent): void;
  /** Weights the app offers to install; default: Sony's official X-UMX. */
  installable?: PublishedWeights[];
  /** The address to fetch a source from (tests: a local server); default its published url. */
  urlFor?: (source: PublishedWeights) => string;
  statfs?: StatFs;
  convert?: (opts: ImportOptions) => Promise<ImportResult>;
}

interface RunningInstall {
  view: ModelInstallView;
  abort: AbortController;
  /** What the user asked for when the abort came: pause keeps the partial file, cancel removes it. */
  stop: 'pause' | 'cancel' | null;
  done: Promise<void>;
}

/** Progress events go out at most this often (ms); stage and state changes always go through. */
const PROGRESS_INTERVAL_MS = 100;

export class ModelsService {
  private readonly installs = new Map<string, RunningInstall>();
  private readonly sources: PublishedWeights[];

  constructor(private readonly deps: ModelsServiceDeps) {
    this.sources = deps.installable ?? [XUMX_OFFICIAL];
  }

  private async installed(): Promise<ModelInfo[]> {
    const scan = await scanModels(this.deps.modelDirs, { allowTestModels: this.deps.allowTestModels });
    return Promise.all(scan.models.map(describeModel));
  }

  async view(): Promise<ModelsView> {
    const models = await this.installed();
    const chosen = this.deps.settings.get().modelId;
    const defaultModelId = models.find((m) => m.id === chosen)?.id ?? models[0]?.id ?? null;
    const installable: InstallableModel[] = this.sources.map((s) => {
      const downloadBytes = s.size ?? xumxParameterBytes();
      return {
        modelId: s.id,
        name: s.name,
        license: s.license,
        downloadBytes,
        downloadSizeKnown: s.size !== undefined,
        diskBytesNeeded: installSpaceNeeded(s, downloadBytes, 0),
        installed: models.some((m) => m.id === s.id),
      };
    });
    const installs: ModelInstallView[] = [];
    for (const s of this.sources) {
      const running = this.installs.get(s.id);
      const view = running?.view ?? (await this.leftOnDisk(s));
      if (view) installs.push(view);
    }
    return { models, defaultModelId, installable, installs };
  }

  /** A download an earlier run (or an earlier app) left behind shows as a paused install. */
  private async leftOnDisk(s: PublishedWeights): Promise<ModelInstallView | null> {
    const dest = downloadPath(this.deps.userDir, s);
    for (const [path, complete] of [
      [dest, true],
      [partialPath(dest), false],
    ] as const) {
      const size = await stat(path).then(
        (st) => (st.isFile() ? st.size : null),
        () => null,
      );
      if (size !== null)
        return { ...this.freshView(s), state: 'paused', received: size, total: complete ? size : (s.size ?? null) };
    }
    return null;
  }

  private freshView(s: PublishedWeights): ModelInstallView {
    return {
      modelId: s.id,
      name: s.name,
      state: 'running',
      stage: 'download',
      received: 0,
      total: s.size ?? null,
      bytesPerSecond: null,
      secondsLeft: null,
      error: null,
    };
  }

  private source(modelId: string): PublishedWeights {
    const s = this.sources.find((x) => x.id === modelId);
    if (!s)
      throw new XumxError(
        'MODEL_NOT_FOUND',
        `"${modelId}" cannot be installed from here (installable: ${this.sources.map((x) => x.id).join(', ')})`,
      );
    return s;
  }

  async setDefault(modelId: string | null): Promise<ModelsView> {
    if (modelId !== null && !(await this.installed()).some((m) => m.id === modelId)) {
      throw new XumxError('MODEL_NOT_FOUND', `no model "${modelId}" is installed`);
    }
    const settings = await this.deps.settings.update({ modelId });
    this.deps.emit({ type: 'settings', settings });
    return this.publishModels();
  }

  private async publishModels(): Promise<ModelsView> {
    const models = await this.view();
    this.deps.emit({ type: 'models', models });
    return models;
  }

  async install(modelId: string): Promise<ModelInstallView> {
    const source = this.source(modelId);
    const current = this.installs.get(modelId);
    if (current && current.view.state === 'running') return current.view;
    const left = await this.leftOnDisk(source);
    const abort = new AbortController();
    const run: RunningInstall = {
      view: { ...this.freshView(source), received: left?.received ?? 0, total: left?.total ?? source.size ?? null },
      abort,
      stop: null,
      done: Promise.resolve(),
    };
    this.installs.set(modelId, run);
    this.publish(run);
    run.done = this.runInstall(run, source);
    return run.view;
  }

  private async runInstall(run: RunningInstall, source: PublishedWeights): Promise<void> {
    let lastSent = 0;
    const onProgress = (p: InstallProgress) => {
      const now = Date.now();
      const stageChanged = p.stage !== run.view.stage;
      run.view = {
        ...run.view,
        stage: p.stage,
        ...(p.stage === 'download'
          ? {
              received: p.received ?? run.view.received,
              total: p.total ?? run.view.total,
              bytesPerSecond: p.bytesPerSecond ?? null,
              secondsLeft: p.secondsLeft ?? null,
            }
          : { bytesPerSecond: null, secondsLeft: null }),
      };
      if (stageChanged || now - lastSent >= PROGRESS_INTERVAL_MS) {
        lastSent = now;
        this.publish(run);
      }
    };
    try {
      await installPublishedXumx({
        modelsDir: this.deps.userDir,
        source,
        url: this.deps.urlFor?.(source),
        signal: run.abort.signal,
        onProgress,
        statfs: this.deps.statfs,
        convert: this.deps.convert,
      });
      // The list goes out before "done", so a view that reacts to "done" already finds the model.
      run.view = { ...run.view, state: 'done', bytesPerSecond: null, secondsLeft: null };
      this.installs.delete(source.id);
      await this.publishModels().catch(() => undefined);
      this.publish(run);
    } catch (err) {
      const e = asXumxError(err);
      // Whatever stopped it, no half-converted folder stays; the download stays only where it can resume.
      await this.removeLeftovers(source, { download: run.stop === 'cancel' });
      if (run.stop === 'cancel') this.finish(run, { state: 'cancelled' });
      else if (run.stop === 'pause') this.finish(run, { state: 'paused' });
      else this.finish(run, { state: 'failed', error: { code: e.code, message: e.message } });
    }
  }

  private finish(run: RunningInstall, patch: Partial<ModelInstallView>): void {
    run.view = { ...run.view, bytesPerSecond: null, secondsLeft: null, ...patch };
    // Only a paused or failed install stays listed (it can resume); a cancelled one is over.
    if (run.view.state === 'cancelled') this.installs.delete(run.view.modelId);
    this.publish(run);
  }

  private publish(run: RunningInstall): void {
    this.deps.emit({ type: 'model-install', install: run.view });
  }

  /** Any folder a conversion was assembling, and with `download` the partial or complete download too. */
  private async removeLeftovers(source: PublishedWeights, what: { download: boolean }): Promise<void> {
    if (what.download) {
      const dest = downloadPath(this.deps.userDir, source);
      await rm(dest, { force: true });
      await rm(partialPath(dest), { force: true });
    }
    const names = await readdir(this.deps.userDir).catch(() => [] as string[]);
    for (const n of names)
      if (n.startsWith(`.${source.id}.partial-`))
        await rm(join(this.deps.userDir, n), { recursive: true, force: true });
  }

  async pause(modelId: string): Promise<ModelInstallView> {
    const source = this.source(modelId);
    const run = this.installs.get(modelId);
    if (!run || run.view.state !== 'running') {
      const left = await this.leftOnDisk(source);
      if (run) return run.view;
      if (left) return left;
      throw new XumxError('BAD_ARGUMENT', `no install of "${modelId}" is running`);
    }
    run.stop = 'pause';
    run.abort.abort();
    await run.done;
    return run.view;
  }

  async cancel(modelId: string): Promise<ModelInstallView> {
    const source = this.source(modelId);
    const run = this.installs.get(modelId);
    if (run && run.view.state === 'running') {
      run.stop = 'cancel';
      run.abort.abort();
      await run.done;
      return run.view;
    }
    // A paused or failed install, also one left by an earlier run: its files go.
    const view = run?.view ?? (await this.leftOnDisk(source)) ?? this.freshView(source);
    await this.removeLeftovers(source, { download: true });
    this.installs.delete(modelId);
    const cancelled: ModelInstallView = { ...view, state: 'cancelled', bytesPerSecond: null, secondsLeft: null };
    this.deps.emit({ type: 'model-install', install: cancelled });
    return cancelled;
  }

  async import(path: string, modelId?: string): Promise<ModelsView> {
    await importModel(path, {
      modelsDir: this.deps.userDir,
      modelDirs: this.deps.modelDirs,
      ...(modelId ? { id: modelId } : {}),
      statfs: this.deps.statfs,
      convert: this.deps.convert,
    });
    return this.publishModels();
  }

  async remove(modelId: string): Promise<ModelsView> {
    await removeModel(modelId, this.deps.modelDirs);
    if (this.deps.settings.get().modelId === modelId) {
      const settings = await this.deps.settings.update({ modelId: null });
      this.deps.emit({ type: 'settings', settings });
    }
    return this.publishModels();
  }

  /** Waits for every running install to settle (shutdown and tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.installs.values()].map((r) => r.done));
  }

  /** Pauses running installs: their partial downloads stay for the next start. */
  async dispose(): Promise<void> {
    for (const run of this.installs.values())
      if (run.view.state === 'running') {
        run.stop = 'pause';
        run.abort.abort();
      }
    await this.idle();
  }
}

/**
 * The engine as the queue sees it: a song asks for the default model, and when that model is gone (removed, or
 * its folder deleted by hand) it is separated with the first installed one instead of failing.
 */
export function withModelFallback(engine: EnginePort): EnginePort {
  const resolve = async (req: SeparateRequest): Promise<SeparateRequest> => {
    if (req.modelId === undefined) return req;
    const ids = (await engine.listModels()).map((m) => m.id);
    return ids.includes(req.modelId) ? req : { ...req, modelId: undefined };
  };
  return {
    listModels: () => engine.listModels(),
    separate: async (req, hooks) => engine.separate(await resolve(req), hooks),
    ...(engine.renderRegion
      ? {
          renderRegion: async (req: SeparateRequest, region: Region, hooks?: { signal?: AbortSignal }) =>
            engine.renderRegion!(await resolve(req), region, hooks),
        }
      : {}),
    ...(engine.releaseSong ? { releaseSong: (input: string) => engine.releaseSong!(input) } : {}),
    dispose: () => engine.dispose(),
  };
}
