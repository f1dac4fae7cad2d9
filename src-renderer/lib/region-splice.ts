// Hearing a control change at the playhead before the whole song is re-rendered: a few seconds rendered with the new
// controls (previewRegion) are written into copies of the heard whole-song buffers, which the player then swaps in
// at the playhead like any re-render. Pure: the caller passes whatever makes AudioBuffers (the player's context).
//
// The part arrives decoded at the context's rate, which may differ from the song's: its first sample lands at
// start * ctxRate / songRate, so parts start on frames where that is a whole number (alignedStartFrame) and the two
// sample grids coincide. A resampled part is not exact over its first and last few milliseconds (the resampler sees
// nothing beyond them), so only its inside is used, joined to the audio around it by short raised-cosine fades.

/** The length of the fades at a part's two inner edges: short enough to be one moment, long enough not to click. */
export const SPLICE_FADE_S = 0.005;
/** What is left out at each end of a resampled part. */
export const SPLICE_EDGE_S = 0.01;

export interface BufferMaker {
  readonly sampleRate: number;
  createBuffer(channels: number, length: number, sampleRate: number): AudioBuffer;
}

/** Where a part goes, in frames of the context's rate: its first sample, and the span of it that is used. */
export interface SplicePlacement {
  /** Frame of the part's first sample. */
  at: number;
  /** The part replaces the heard audio from `from` (fading in) to `to` (fading out), at <= from < to. */
  from: number;
  to: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/**
 * The frame (at the song's rate) at or just before `seconds` whose time is also a whole frame at the context's rate,
 * never before 0: a part starting there lines up sample for sample with the whole song decoded at the context's rate.
 */
export function alignedStartFrame(seconds: number, songRate: number, ctxRate: number): number {
  const step = songRate / gcd(Math.round(songRate), Math.round(ctxRate));
  return Math.max(0, Math.floor((seconds * songRate) / step) * step);
}

/**
 * Where a part of `frames` song frames from `startFrame` goes in buffers of `length` context frames: its inside, less
 * the resampler's edges (none at the song's start and end, where nothing is beyond either).
 */
export function placeRegion(part: { startFrame: number; frames: number; sampleRate: number }, ctxRate: number, length: number): SplicePlacement {
  const ratio = ctxRate / part.sampleRate;
  const at = Math.round(part.startFrame * ratio);
  const end = Math.min(length, Math.round((part.startFrame + part.frames) * ratio));
  const edge = part.sampleRate === ctxRate ? 0 : Math.round(SPLICE_EDGE_S * ctxRate);
  const from = at === 0 ? 0 : Math.min(end, at + edge);
  const to = end >= length ? length : Math.max(from, end - edge);
  return { at, from, to };
}

/** Raised-cosine weight of the new audio, 0 → 1 over `n` steps. */
function rise(i: number, n: number): number {
  return 0.5 - 0.5 * Math.cos((Math.PI * (i + 0.5)) / n);
}

/**
 * New whole-song buffers, one per stem of `part` (in its order): the heard stem's audio (silence for a stem not heard,
 * such as a new "residual"), with the part's samples over [from, to) and raised-cosine fades inside both ends, unless
 * an end is the song's start or end. Heard stems the part lacks are left out: the render dropped them.
 */
export function spliceRegion(
  make: BufferMaker, heard: ReadonlyMap<string, AudioBuffer>, part: ReadonlyMap<string, AudioBuffer>, place: SplicePlacement,
): Map<string, AudioBuffer> {
  const length = Math.max(0, ...[...heard.values()].map((b) => b.length));
  const fade = Math.max(1, Math.round(SPLICE_FADE_S * make.sampleRate));
  const out = new Map<string, AudioBuffer>();
  for (const [name, region] of part) {
    const base = heard.get(name);
    const channels = Math.max(base?.numberOfChannels ?? 0, region.numberOfChannels);
    const buffer = make.createBuffer(channels, length, make.sampleRate);
    const from = Math.max(place.from, place.at, 0);
    const to = Math.min(place.to, place.at + region.length, length);
    const fadeIn = from > 0 ? Math.min(fade, Math.floor((to - from) / 2)) : 0;
    const fadeOut = to < length ? Math.min(fade, Math.floor((to - from) / 2)) : 0;
    for (let c = 0; c < channels; c++) {
      const dst = buffer.getChannelData(c);
      // The maker may hand back a used buffer (fresh memory costs more to fill than the copy itself).
      if (base) dst.set(base.getChannelData(Math.min(c, base.numberOfChannels - 1)).subarray(0, length));
      else dst.fill(0);
      const src = region.getChannelData(Math.min(c, region.numberOfChannels - 1));
      for (let i = from; i < to; i++) {
        const s = src[i - place.at];
        const w = i - from < fadeIn ? rise(i - from, fadeIn) : to - 1 - i < fadeOut ? rise(to - 1 - i, fadeOut) : 1;
        dst[i] = w === 1 ? s : w * s + (1 - w) * dst[i];
      }
    }
    out.set(name, buffer);
  }
  return out;
}
