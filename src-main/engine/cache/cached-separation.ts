// One job with the estimate cache: a song separated before (same audio bytes, same network) is re-rendered from
// its cached estimates with the job's controls and no network; otherwise the network runs and its estimates are
// recorded for next time. A corrupt or mismatching entry is dropped and the song separated again, with a notice.
import { XumxError } from '../errors.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { InstalledModel } from '../model/registry.ts';
import type { ModelRunner } from '../model/session.ts';
import {
  separateFromCache,
  separateOpening,
  type PipelineDeps,
  type PipelineHooks,
  type PipelineJob,
} from '../separate/pipeline.ts';
import type { SegmentSettings } from '../separate/segment-settings.ts';
import type { ChunkPlan } from '../separate/segments.ts';
import type { EpName, SeparationOk } from '../types.ts';
import type { DspRenderer } from '../separate/chunk-renderer.ts';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { EstimateRecorder } from './estimate-recorder.ts';
import { EstimateReplay } from './estimate-replay.ts';
import { estimateKey, hashFile, type EstimateCache } from './estimate-cache.ts';

export interface CachedSeparationContext {
  cache: EstimateCache;
  installed: InstalledModel;
  /** Opens (or reuses) the network; only called when the cache cannot answer. */
  openModel(): Promise<ModelRunner>;
  segmentsFor(ep: EpName): SegmentSettings;
  deps: PipelineDeps;
  /** Threads for the chunk DSP, of first separations and re-renders alike; absent or undefined: this thread. */
  dsp?(): DspRenderer | undefined;
  /** This thread's DSP kernels, for the records' checksums; absent: the JavaScript reference (the same values). */
  kernels?: DspKernels;
  /** sha256 of the song's bytes (a caller may remember it while the file stays the same); default hashFile. */
  hashInput?(path: string, signal?: AbortSignal): Promise<string>;
}

export async function separateWithCache(
  job: Omit<PipelineJob, 'segments'> & { segments?: SegmentSettings },
  ctx: CachedSeparationContext,
  hooks: PipelineHooks = {},
): Promise<SeparationOk> {
  const { manifest } = ctx.installed;
  const notices: string[] = [];
  // A cache folder that cannot be used costs the cache, never the separation.
  const unusable = await ctx.cache.unusable();
  if (unusable) notices.push(`cache not written: ${unusable}; separated without the cache`);
  // An unreadable input has no key; the pipeline names what is wrong with it.
  const inputSha256 = unusable
    ? null
    : await (ctx.hashInput ?? hashFile)(job.input, hooks.signal).catch((err: unknown) => {
        if (err instanceof XumxError && err.code === 'CANCELLED') throw err;
        return null;
      });
  const key = inputSha256 && estimateKey({ inputSha256, modelSha256: manifest.sha256 });

  // The song's analysis goes with its estimates: a re-render keeps it instead of measuring it again.
  const analysis = key ? await ctx.cache.readAnalysis(key) : null;
  const keep = async (result: SeparationOk) => {
    if (key && !analysis && result.analysis) await ctx.cache.writeAnalysis(key, result.analysis);
  };
  if (analysis) job = { ...job, analysis };

  if (key) {
    const reader = await ctx.cache.lookup(
      key,
      { modelSha256: manifest.sha256, sources: manifest.sources, bins: CONTRACT.bins },
      (e) => notices.push(`${e.message}; separating again`),
    );
    if (reader) {
      const replay = new EstimateReplay(reader);
      try {
        const dsp = ctx.dsp?.();
        const result = await separateFromCache({ ...job, ...(dsp ? { dsp } : {}) }, manifest, replay, ctx.deps, hooks);
        replay.checkFinished();
        await keep(result);
        return { ...result, estimates: 'cache', notices: [...result.notices, ...notices] };
      } catch (err) {
        if (!(err instanceof XumxError && err.code === 'CACHE_CORRUPT')) throw err;
        notices.push(`${err.message}; separating again`);
        await ctx.cache.remove(key);
      } finally {
        await replay.dispose().catch(() => {});
      }
    }
  }

  if (hooks.signal?.aborted) throw new XumxError('CANCELLED', `${job.input}: cancelled`, job.input);
  // The session opens while the pipeline decodes the song (separateOpening); a session already open is at hand.
  const dsp = ctx.dsp?.();
  const recording: { runner?: EstimateRecorder } = {};
  const ready = ctx.openModel().then((model) => {
    const segments = ctx.segmentsFor(model.ep);
    if (!key) return { model, segments };
    recording.runner = new EstimateRecorder(
      model,
      (frames) =>
        ctx.cache.writer(
          {
            key,
            modelId: manifest.id,
            modelSha256: manifest.sha256,
            sources: [...manifest.sources],
            bins: CONTRACT.bins,
            frames,
            codec: 'float24',
            ep: model.ep,
            segmentFrames: segments.segmentFrames,
            overlapFrames: segments.overlapFrames,
          },
          ctx.kernels,
        ),
      ctx.cache.maxBytes,
    );
    const recorder = recording.runner;
    return { model: recorder, segments, onPlan: (plan: ChunkPlan) => recorder.expect(plan) };
  });
  const network = { manifest, ready };
  const run = { ...job, ...(dsp ? { dsp } : {}) };
  if (!key) {
    const result = await separateOpening(run, network, ctx.deps, hooks);
    return { ...result, notices: [...result.notices, ...notices] };
  }
  let result: SeparationOk;
  const started = performance.now();
  try {
    result = await separateOpening(run, network, ctx.deps, hooks);
  } catch (err) {
    await recording.runner?.abort();
    throw err;
  }
  const recorder = recording.runner!;
  const size = await recorder.commit();
  if (size !== null) {
    await keep(result);
    await ctx.cache.evict(key);
  } else if (recorder.overCap !== null && recorder.cacheError === recorder.capError) {
    const seconds = Math.round((performance.now() - started) / 1000);
    notices.push(
      `estimates not kept: this song's take ${gigabytes(recorder.overCap)}, more than the estimate cache's ` +
        `${gigabytes(ctx.cache.maxBytes)}; a change of controls separates it again, the part being listened to ` +
        `first (this separation took ${seconds} s)`,
    );
  } else if (recorder.cacheError) {
    const why = recorder.cacheError instanceof Error ? recorder.cacheError.message : String(recorder.cacheError);
    notices.push(`cache not written: ${why}; a change of controls will run the network again`);
  }
  return { ...result, estimates: 'network', notices: [...result.notices, ...notices] };
}

function gigabytes(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GiB`;
}
