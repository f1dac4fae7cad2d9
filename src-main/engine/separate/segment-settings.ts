// Segment length × batch per execution provider: the main speed lever (see bench/separate.bench.ts).
// LSTM steps run one after another, so many short segments in one batch beat one long sequence on a CPU; the
// WebGPU provider dispatches every LSTM step separately, so it wants shorter segments still.
// The overlap keeps every chunk edge inside a crossfade, away from the stems.
// Shorter chunks cost quality: the network sees less context (bundled model, held-out test through the app: 64
// frames 0.23 dB below 256 in mean gain, 128 frames 0.08 dB; models/xumx-studio-small/MODEL_CARD.md "Chunk length").
// The GPU rows' speed has not been measured on real hardware; weigh both there before changing them.
import type { EpName } from '../types.ts';

export interface SegmentSettings {
  /** STFT frames per chunk given to the network (its LSTM sequence length). */
  segmentFrames: number;
  /** Frames shared by neighbouring chunks; at most half a segment. */
  overlapFrames: number;
  /** Chunks per network run. */
  batch: number;
  /**
   * Chunks in the first network run; default 1, so the first frames are final (and can be heard) after one chunk's
   * run instead of a whole batch's (bench/first-sound.bench.ts compares).
   */
  firstBatch?: number;
}

const BY_EP: Record<EpName, SegmentSettings> = {
  // Batch 2: the same CPU time per frame as 4 on one thread (measured), with half the activations (~180 MB less).
  cpu: { segmentFrames: 256, overlapFrames: 16, batch: 2 },
  cuda: { segmentFrames: 256, overlapFrames: 16, batch: 16 },
  dml: { segmentFrames: 128, overlapFrames: 16, batch: 16 },
  coreml: { segmentFrames: 128, overlapFrames: 16, batch: 16 },
  webgpu: { segmentFrames: 64, overlapFrames: 8, batch: 32 },
};

export function segmentsFor(ep: EpName, override?: Partial<SegmentSettings>): SegmentSettings {
  return { ...BY_EP[ep], ...override };
}
