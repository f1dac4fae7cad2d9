// A finished song's controls (SongControlsService): its saved separation controls, tempo and key, loop and named
// regions, the presets, and re-rendering it with new separation controls while its old stems stay playable: the engine answers
// from its estimate cache (no network), the job's result is replaced only when every new stem is in place, and a
// newer request for the same song cancels an older one still running (a slider being dragged).
//
// A song's saved controls are a complete set (a source with no strength or bleed entry is at the neutral value),
// sent to the engine as they are (controlsBase 'neutral'): a song keeps sounding as it did when its model's
// recommended controls change or a model gains them. A song never adjusted has no saved controls: it is separated
// from its model's recommended controls (the engine fills them in), and what its stems were rendered with is what
// its panel starts from and what is saved with its tempo, loop or regions.
import {
  asXumxError,
  BUILT_IN_PRESETS,
  DEFAULT_SEPARATION_CONTROLS,
  type Preset,
  withDefaults,
  XumxError,
} from '../engine/index.ts';
import type { ModelInfo, Progress, SeparateRequest, SeparationControls } from '../engine/types.ts';
import type { JobView, Settings, SongControls, SongLoop, SongRegion, TimePitch } from './contract.ts';
import type { ControlsStore } from './controls-store.ts';
import type { EnginePort } from './ports.ts';
import type { ListenTicket } from './listen-copies.ts';

export interface RerenderDeps {
  engine: EnginePort;
  store: ControlsStore;
  jobs: { get(id: string): JobView | undefined; patch(id: string, patch: Partial<JobView>): JobView | undefined };
  /** The engine request for a song with these controls (output folder, model, format from the settings). */
  requestFor(input: string, controls: SeparationControls): SeparateRequest;
  /** Called with the paths of freshly written stems before the job points at them. */
  onStems(jobId: string, paths: string[]): void;
  /** The re-render's revision and listening copy; absent: revisions count up from the song's, and no copy. */
  listen?(jobId: string, controls: SeparationControls): ListenTicket;
  /** What went wrong beside a re-render that still took place (its controls could not be saved). */
  notice(message: string): void;
}

const PROGRESS_INTERVAL_MS = 100;

/**
 * What the settings lay over the model's recommended controls for a song never adjusted: the Wiener iterations,
 * once chosen.
 */
export function settingsControls(s: Pick<Settings, 'wienerIterations'>): Partial<SeparationControls> {
  return s.wienerIterations === null ? {} : { wienerIterations: s.wienerIterations };
}

/**
 * What a song never adjusted is separated with, as the engine will resolve it: the settings' model (or the first
 * installed) and its recommended controls, under the settings' own.
 */
export function startingControls(settings: Pick<Settings, 'modelId' | 'wienerIterations'>, models: ModelInfo[]) {
  const model = models.find((m) => m.id === settings.modelId) ?? models[0];
  return withDefaults(settingsControls(settings), model?.defaultControls ?? DEFAULT_SEPARATION_CONTROLS);
}

const unadjusted = (rendered: SeparationControls): SongControls => ({ controls: rendered, presetId: null });

export class SongControlsService {
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly deps: RerenderDeps) {}

  /** The song's saved controls; null for a song never adjusted. */
  saved(input: string): SongControls | null {
    return this.deps.store.song(input);
  }

  /** The song's saved controls, or (never adjusted) `rendered`: what its stems were, or are being, rendered with. */
  controlsFor(input: string, rendered: SeparationControls): SongControls {
    return this.deps.store.song(input) ?? unadjusted(rendered);
  }

  /** Saves the song's tempo and key beside its separation controls; the stems stay as they are. */
  async setTimePitch(input: string, timePitch: TimePitch, rendered: SeparationControls): Promise<SongControls> {
    return this.deps.store.setSong(input, (saved) => ({ ...(saved ?? unadjusted(rendered)), timePitch }));
  }

  /** Saves the song's named regions beside its separation controls. */
  async setRegions(input: string, regions: SongRegion[], rendered: SeparationControls): Promise<SongControls> {
    return this.deps.store.setSong(input, (saved) => ({ ...(saved ?? unadjusted(rendered)), regions }));
  }

  /** Saves the song's loop selection and count-in beside its separation controls. */
  async setLoop(
    input: string,
    loop: SongLoop | null,
    countIn: boolean,
    rendered: SeparationControls,
  ): Promise<SongControls> {
    return this.deps.store.setSong(input, (saved) => ({ ...(saved ?? unadjusted(rendered)), loop, countIn }));
  }

  async rerender(jobId: string, sc: SongControls): Promise<JobView> {
    const { jobs, engine, store } = this.deps;
    const job = jobs.get(jobId);
    if (!job) throw new XumxError('BAD_ARGUMENT', `no song with id ${jobId} in the queue`);
    if (job.state !== 'done' || !job.result) throw new XumxError('BAD_ARGUMENT', `${job.name} is not separated yet`);
    this.running.get(jobId)?.abort();
    const abort = new AbortController();
    this.running.set(jobId, abort);
    const current = () => this.running.get(jobId) === abort;
    // Before the first event of this re-render, which then carries its revision.
    const ticket = this.deps.listen?.(jobId, sc.controls) ?? null;
    jobs.patch(jobId, { rerender: { progress: null, error: null } });

    let last = 0;
    const onProgress = (progress: Progress) => {
      const now = Date.now();
      if (!current() || now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      jobs.patch(jobId, { rerender: { progress, error: null } });
    };
    const request = this.deps.requestFor(job.input, sc.controls);
    const listen = ticket ? { listen: { path: ticket.path, onReady: ticket.onListen } } : {};
    // A listener's block at the playhead is rendered first, alone (listen-copies.ts).
    await ticket?.playheadFirst;
    let result;
    try {
      result = await engine.separate(request, {
        signal: abort.signal,
        onProgress,
        ...listen,
      });
    } catch (err) {
      ticket?.settle(false);
      throw err;
    }
    if (!current()) {
      ticket?.settle(false);
      throw new XumxError('CANCELLED', `${job.name}: replaced by newer controls`);
    }
    this.running.delete(jobId);
    if (!result.ok) {
      ticket?.settle(false);
      const cancelled = result.error.code === 'CANCELLED';
      jobs.patch(jobId, { rerender: cancelled ? null : { progress: null, error: { ...result.error } } });
      throw new XumxError(result.error.code, result.error.message);
    }
    // New separation controls keep the tempo and key the song is practised at, unless they bring their own, and
    // always its named regions, loop and count-in: only their own calls change those (a caller may hold controls
    // read before a save).
    // The stems on disk are this render's by now: a save that fails (a read-only or full data folder) only loses
    // the controls for the next time the song is opened, and the song shows the render its files hold.
    const { regions: _regions, loop: _loop, countIn: _countIn, ...separation } = sc;
    const unsaved = await store
      .setSong(job.input, (saved) => ({
        ...separation,
        ...(!sc.timePitch && saved?.timePitch ? { timePitch: saved.timePitch } : {}),
        ...(saved?.regions ? { regions: saved.regions } : {}),
        ...(saved?.loop !== undefined ? { loop: saved.loop } : {}),
        ...(saved?.countIn !== undefined ? { countIn: saved.countIn } : {}),
      }))
      .then(
        () => null,
        (err: unknown) => asXumxError(err).message,
      );
    this.deps.onStems(jobId, Object.values(result.stems));
    ticket?.settle(true);
    const previous = jobs.get(jobId)?.result ?? job.result;
    const view = jobs.patch(jobId, {
      rerender: null,
      result: {
        ...previous,
        sources: Object.keys(result.stems),
        stemPaths: { ...result.stems },
        timings: result.timings,
        notices: result.notices,
        controls: sc.controls,
        revision: ticket?.revision ?? (previous.revision ?? 0) + 1,
        ...(result.estimates ? { estimates: result.estimates } : {}),
      },
    });
    if (!view) throw new XumxError('CANCELLED', `${job.name}: removed from the queue`);
    if (unsaved !== null)
      this.deps.notice(`${unsaved}; ${job.name} was re-rendered, but these controls will not be remembered next time`);
    return view;
  }

  /** Cancels a running re-render of a song (when it is removed). */
  cancel(jobId: string): void {
    this.running.get(jobId)?.abort();
    this.running.delete(jobId);
  }

  listPresets(): Preset[] {
    return [...BUILT_IN_PRESETS, ...this.deps.store.userPresets()];
  }

  async savePreset(p: Preset): Promise<Preset[]> {
    await this.deps.store.savePreset(p);
    return this.listPresets();
  }

  async deletePreset(id: string): Promise<Preset[]> {
    if (BUILT_IN_PRESETS.some((p) => p.id === id))
      throw new XumxError('BAD_ARGUMENT', `"${id}" is a built-in preset and cannot be deleted`);
    if (!(await this.deps.store.deletePreset(id))) throw new XumxError('BAD_ARGUMENT', `no preset "${id}"`);
    return this.listPresets();
  }
}
