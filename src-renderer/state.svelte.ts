// App-wide reactive state: the client, settings, models and the mirrored queue. Components read it through
// props; only the methods here talk to the client, so errors surface in one place (the notice bar).
import type { Capabilities, JobView, ModelInfo, Settings, StudioEvent } from '../src-main/api/contract.ts';
import type { StudioClient } from './lib/client.ts';
import { applyEvent, emptyQueue, fromJobs, select, type QueueState } from './lib/queue.ts';
import { filesForUpload, type Dropped } from './lib/dropped-files.ts';
import { ModelsState } from './models-state.svelte.ts';

export type Panel = null | 'export' | 'settings' | 'models';

export class StudioState {
  capabilities = $state<Capabilities | null>(null);
  settings = $state<Settings | null>(null);
  models = $state<ModelInfo[]>([]);
  queue = $state<QueueState>(emptyQueue);
  panel = $state<Panel>(null);
  notice = $state<{ kind: 'error' | 'info'; text: string } | null>(null);
  selected = $derived<JobView | null>(this.queue.selectedId ? (this.queue.jobs[this.queue.selectedId] ?? null) : null);
  /** The Models view: installed models with their details, installs, imports. */
  readonly library: ModelsState;

  constructor(readonly client: StudioClient) {
    this.library = new ModelsState(
      client,
      (v) => (this.models = v.models),
      (text) => this.inform(text),
    );
  }

  async start(): Promise<void> {
    this.client.onEvent((e) => this.onEvent(e));
    const [capabilities, settings, models, jobs] = await Promise.all([
      this.client.capabilities(),
      this.client.getSettings(),
      this.client.listModels().catch((e) => {
        this.fail(e);
        return [] as ModelInfo[];
      }),
      this.client.listJobs(),
    ]);
    this.capabilities = capabilities;
    this.settings = settings;
    this.models = models;
    this.queue = fromJobs(jobs);
    // Only the first-run offer needs it at start; a failure shows when the Models view opens.
    void this.library.load();
  }

  private onEvent(e: StudioEvent): void {
    if (e.type === 'settings') this.settings = e.settings;
    else if (e.type === 'models' || e.type === 'model-install') this.library.onEvent(e);
    else if (e.type === 'notice') this.inform(e.message);
    else if (e.type === 'export-progress')
      return; // the export dialog follows its own
    else if (e.type === 'menu') {
      if (e.action === 'export' && !this.selected?.result)
        this.inform('Separate a song first, then export its stems or mix.');
      else this.panel = e.action;
    } else this.queue = applyEvent(this.queue, e);
  }

  select(id: string): void {
    this.queue = select(this.queue, id);
  }

  /** Runs a client call, turning a failure into the notice bar instead of an unhandled rejection. */
  async attempt<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (e) {
      this.fail(e);
      return undefined;
    }
  }

  fail(e: unknown): void {
    this.notice = { kind: 'error', text: e instanceof Error ? e.message : String(e) };
  }

  inform(text: string): void {
    this.notice = { kind: 'info', text };
  }

  async addFiles(files: File[]): Promise<void> {
    await this.attempt(async () => {
      const jobs = await this.client.addFiles(files);
      // The socket may deliver events after the call returns; merge the answer so the queue shows them at once.
      for (const job of jobs) this.queue = applyEvent(this.queue, { type: 'job', job: this.queue.jobs[job.id] ?? job });
    });
  }

  /** Electron resolves dropped files and folders to paths; the browser uploads the songs found in them. */
  async addDropped(d: Dropped): Promise<void> {
    if (!this.capabilities?.upload) return this.addFiles(d.files);
    const files = await this.attempt(() => filesForUpload(d));
    if (files?.length) await this.addFiles(files);
    else if (files) this.inform('No songs found in what was dropped.');
  }

  async chooseFiles(): Promise<void> {
    await this.attempt(() => this.client.chooseFiles());
  }

  /** Closes the first-run offer of the published weights for good. */
  async dismissModelOffer(): Promise<void> {
    await this.updateSettings({ modelOfferDismissed: true });
  }

  async updateSettings(patch: Partial<Settings>): Promise<void> {
    const s = await this.attempt(() => this.client.updateSettings(patch));
    if (s) this.settings = s;
  }
}
