// The Models view's state: the installed models, running installs and the last refused import, kept current by
// the 'models' and 'model-install' events. Failures show in the view itself (the notice bar is behind the dialog).
import type { ApiError, ModelInstallView, ModelsView, StudioEvent } from '../src-main/api/contract.ts';
import type { StudioClient } from './lib/client.ts';
import { applyInstall } from './lib/models.ts';

function asApiError(e: unknown): ApiError {
  const code = (e as { code?: unknown })?.code;
  return { code: typeof code === 'string' ? code : 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

export class ModelsState {
  view = $state<ModelsView | null>(null);
  installs = $state<ModelInstallView[]>([]);
  /** The file being imported, while its import runs. */
  importing = $state<string | null>(null);
  /** Why the last import was refused, with the file's name. */
  refused = $state<{ file: string; error: ApiError } | null>(null);
  /** A failed call of the view other than an import (remove, default, install start). */
  problem = $state<string | null>(null);
  /** Installs started here: the model they install becomes the default once done. */
  private readonly startedHere = new Set<string>();

  constructor(
    private readonly client: StudioClient,
    /** Called with every new view, so the rest of the app sees the installed models too. */
    private readonly onView: (v: ModelsView) => void,
    /** A sentence for the app's notice bar, e.g. after an install finished. */
    private readonly inform: (text: string) => void,
  ) {}

  async load(): Promise<void> {
    await this.attempt(async () => this.show(await this.client.getModels()));
  }

  private show(v: ModelsView): void {
    this.view = v;
    this.installs = v.installs;
    this.onView(v);
  }

  onEvent(e: StudioEvent): void {
    if (e.type === 'models') this.show(e.models);
    else if (e.type === 'model-install') {
      this.installs = applyInstall(this.installs, e.install);
      if (e.install.state === 'done' && this.startedHere.delete(e.install.modelId))
        void this.useAfterInstall(e.install);
      if (e.install.state === 'cancelled') this.startedHere.delete(e.install.modelId);
    }
  }

  /** Who installs better weights wants them used: new songs are separated with the model just installed. */
  private async useAfterInstall(i: ModelInstallView): Promise<void> {
    const v = await this.attempt(() => this.client.setDefaultModel(i.modelId));
    if (v) {
      this.show(v);
      this.inform(`${i.name} is installed; new songs are separated with it.`);
    }
  }

  private async attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      this.problem = null;
      return await fn();
    } catch (e) {
      this.problem = asApiError(e).message;
      return undefined;
    }
  }

  install(modelId: string): Promise<void> {
    this.startedHere.add(modelId);
    return this.track(() => this.client.installModel(modelId));
  }

  pause(modelId: string): Promise<void> {
    return this.track(() => this.client.pauseModelInstall(modelId));
  }

  cancel(modelId: string): Promise<void> {
    return this.track(() => this.client.cancelModelInstall(modelId));
  }

  /**
   * Install calls answer with the install's view, but the events that carry each change may arrive before or after
   * that answer; the answer counts only where no event told of this install yet.
   */
  private async track(fn: () => Promise<ModelInstallView>): Promise<void> {
    const v = await this.attempt(fn);
    if (v && !this.installs.some((i) => i.modelId === v.modelId)) this.installs = applyInstall(this.installs, v);
  }

  async setDefault(modelId: string): Promise<void> {
    const v = await this.attempt(() => this.client.setDefaultModel(modelId));
    if (v) this.show(v);
  }

  async remove(modelId: string): Promise<void> {
    const v = await this.attempt(() => this.client.removeModel(modelId));
    if (v) this.show(v);
  }

  /** A dropped or chosen file; `choose` opens the native dialog instead (desktop). */
  async importFile(file: File | 'choose'): Promise<void> {
    this.refused = null;
    this.importing = file === 'choose' ? 'the chosen file' : file.name;
    try {
      const v = file === 'choose' ? await this.client.chooseModelFile() : await this.client.importModelFile(file);
      if (v) {
        this.show(v);
        this.inform(`${file === 'choose' ? 'The model' : file.name} was imported.`);
      }
    } catch (e) {
      this.refused = { file: file === 'choose' ? 'The chosen file' : file.name, error: asApiError(e) };
    } finally {
      this.importing = null;
    }
  }
}
