// The network's estimates for the chunks of a part (region.ts) when the estimate cache does not hold the song: one
// longer than the cache's cap (any song over about half an hour), or one whose entry was evicted. Without them the
// part at the playhead waited for the song's re-render to run the network up to it: 229 s an hour into a two-hour
// song. The chunks are planned as the song's separation plans them and go through the same network, so the part is
// the samples that re-render writes there: its estimates are rounded to the estimate cache's float24 as the
// separation's are (estimate-recorder.ts; the stems differed by up to 2e-4 without it, on the test network; with it
// they were identical on the CPU, whatever other chunks shared the network run). A separation that could not use
// the cache at all (its folder unusable) does not round, and its parts then differ by that much. The last few
// chunks' estimates are kept: they do not depend on the controls, so the next change at the same place runs no
// network.
import { magnitude } from '../dsp/stft.ts';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { XumxError } from '../errors.ts';
import { BYTES_PER_VALUE, quantizeFloat24 } from '../cache/float24.ts';
import { CONTRACT } from '../model/manifest.ts';
import type { ModelRunner } from '../model/session.ts';
import type { SegmentSettings } from './segment-settings.ts';
import { minChunkLength, planChunks, type ChunkPlan } from './segments.ts';

/**
 * Chunks whose estimates are kept: a 2-second block needs one or two ~6-second chunks, a resampled one a third
 * before them. With the CPU's 256-frame chunks a chunk's estimates are 4 sources × 2 × 2049 × 256 values in float24,
 * 12.6 MB, so at most about 38 MB.
 */
export const KEPT_ESTIMATES = 3;

export class PartNetwork {
  private readonly kept = new Map<number, Uint8Array>();

  constructor(
    readonly model: ModelRunner,
    /** The segments the song's separation uses with this model's provider (segmentsFor(model.ep)). */
    readonly segments: SegmentSettings,
    private readonly limit = KEPT_ESTIMATES,
  ) {}

  /** The song's chunk plan, as its separation makes it. */
  plan(frames: number): ChunkPlan {
    return planChunks(frames, this.segments, CONTRACT.hop, minChunkLength(CONTRACT.nFft));
  }

  /**
   * Per chunk index, the sources' magnitude estimates [source][2][bins][frames] (model order) in float24, as a cache
   * record holds them: copies, for the caller to hand on. The chunks not kept go through the network,
   * `segments.batch` at a time; `read` gives a chunk's samples (readChunk's, which the caller may hold already).
   */
  async estimates(
    plan: ChunkPlan,
    indices: number[],
    read: (index: number) => Promise<Float32Array[]>,
    kernels: DspKernels,
    cancelled: () => void,
  ): Promise<Map<number, Uint8Array>> {
    const plane = 2 * CONTRACT.bins * plan.frames;
    const sources = this.model.manifest.sources.length;
    const found = new Map<number, Uint8Array>();
    for (const i of indices) {
      const kept = this.kept.get(i);
      if (kept) found.set(i, kept.slice());
    }
    const missing = indices.filter((i) => !found.has(i));
    const batch = Math.max(1, this.segments.batch);
    for (let at = 0; at < missing.length; at += batch) {
      const group = missing.slice(at, at + batch);
      const input = new Float32Array(group.length * plane);
      for (const [b, i] of group.entries()) {
        (await read(i)).forEach((ch, c) => {
          const spec = kernels.stft(ch);
          if (spec.frames !== plan.frames)
            throw new XumxError('INTERNAL', `STFT gave ${spec.frames} frames, planned ${plan.frames}`);
          magnitude(spec, input.subarray(b * plane + (c * plane) / 2, b * plane + ((c + 1) * plane) / 2));
        });
      }
      cancelled();
      const out = await this.model.run(input, group.length, plan.frames);
      group.forEach((i, b) => {
        // The network hands a batch back as [source][chunk][2][bins][frames].
        const stored = plane * BYTES_PER_VALUE;
        const record = new Uint8Array(sources * stored);
        for (let j = 0; j < sources; j++) {
          const from = (j * group.length + b) * plane;
          quantizeFloat24(out.subarray(from, from + plane), record.subarray(j * stored, (j + 1) * stored));
        }
        this.keep(i, record);
        found.set(i, record.slice());
      });
      // Kept first: a part given up during the run leaves its chunks for the next one.
      cancelled();
    }
    return found;
  }

  private keep(index: number, record: Uint8Array): void {
    this.kept.delete(index);
    this.kept.set(index, record);
    while (this.kept.size > Math.max(this.limit, 1)) this.kept.delete(this.kept.keys().next().value!);
  }
}
