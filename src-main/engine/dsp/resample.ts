// Sample-rate conversion. 'medium' (the default) is our polyphase filter on the DSP kernels (polyphase.ts), for
// every rate pair whose reduced ratio has at most MAX_PHASES phases (all common rates); 'best' and any other pair use
// libsamplerate (wasm), band-limited sinc interpolation.
//
// Only libsamplerate's streaming ("full") API is used: its "simple" API silently switches to unflushed chunks
// for inputs over ~4 MB and then drops the tail. The stream is flushed by feeding silence until the output
// reaches round(len * to / from) samples, which is what libsamplerate's own end-of-input handling does.
import libsamplerate from '@alexanderolsen/libsamplerate-js';
import { isSupportedSampleRate, SUPPORTED_SAMPLE_RATES } from '../audio/sample-rates.ts';
import { XumxError } from '../errors.ts';
import { loadDspKernels } from './kernels/index.ts';
import { createPolyphaseResampler, polyphaseRatio } from './polyphase.ts';
import type { StreamingResampler } from './streaming-resampler.ts';

export type { StreamingResampler } from './streaming-resampler.ts';

const { create, ConverterType } = libsamplerate;

/**
 * Default 'medium', measured on 8 s sweeps against the analytic sweep, edges excluded: the polyphase filter gives
 * 112-121 dB SNR below 85% of the lower Nyquist frequency (48/96/32/22.05 kHz to 44.1 kHz and back), at ~226x real
 * time for a stereo 48 -> 44.1 kHz stream (bench/dsp.bench.ts; libsamplerate's SRC_SINC_MEDIUM_QUALITY, used
 * before: 95 dB and ~30x). Above 85% its passband rolls off towards the stopband at the Nyquist frequency.
 * 'best' is libsamplerate's SRC_SINC_BEST_QUALITY (139-149 dB up to 20 kHz), for exports where the last kHz matters.
 */
const DEFAULT_QUALITY: ResampleQuality = 'medium';

/** libsamplerate-js moves data through fixed 1,008,000-float wasm buffers; stay well inside them. */
const WASM_BUFFER_FLOATS = 1_008_000;

/** Between the ends of the supported range the ratio stays within what both converters handle exactly. */
function checkRate(rate: number, what: string): void {
  if (!isSupportedSampleRate(rate)) {
    throw new XumxError(
      'BAD_ARGUMENT',
      `${what} sample rate must be an integer from ${SUPPORTED_SAMPLE_RATES.min} to ${SUPPORTED_SAMPLE_RATES.max} Hz, got ${rate}`,
    );
  }
}

/** Output samples a converter may be off by before its stream counts as wrong (StemSink pads the last one or two). */
const LENGTH_SLACK = 2;

/**
 * Holds a converter to its contract: a stream of n samples comes out as round(n · to / from), give or take
 * LENGTH_SLACK. A converter that silently gives up (libsamplerate beyond its 256× ratio returned 20,000 times too
 * few samples) fails the job instead of cutting every stem short.
 */
function lengthChecked(inner: StreamingResampler, fromRate: number, toRate: number): StreamingResampler {
  let framesIn = 0;
  let framesOut = 0;
  return {
    process(planar) {
      framesIn += planar[0]?.length ?? 0;
      const out = inner.process(planar);
      framesOut += out[0]?.length ?? 0;
      return out;
    },
    flush() {
      const out = inner.flush();
      framesOut += out[0]?.length ?? 0;
      const expected = Math.round((framesIn * toRate) / fromRate);
      if (Math.abs(framesOut - expected) > LENGTH_SLACK) {
        throw new XumxError(
          'INTERNAL',
          `resampling ${framesIn} samples from ${fromRate} to ${toRate} Hz gave ${framesOut} samples, not ${expected}`,
        );
      }
      return out;
    },
    destroy: () => inner.destroy(),
  };
}

/** 'medium' (default): flat to 85% of the lower Nyquist frequency; 'best': to 97%, many times slower. */
export type ResampleQuality = 'medium' | 'best';

const CONVERTERS = { medium: ConverterType.SRC_SINC_MEDIUM_QUALITY, best: ConverterType.SRC_SINC_BEST_QUALITY };

export async function createResampler(
  fromRate: number,
  toRate: number,
  channelCount: number,
  quality: ResampleQuality = DEFAULT_QUALITY,
): Promise<StreamingResampler> {
  checkRate(fromRate, 'input');
  checkRate(toRate, 'output');
  if (!Number.isInteger(channelCount) || channelCount < 1 || channelCount > 128) {
    throw new XumxError('BAD_ARGUMENT', `channel count must be 1 to 128, got ${channelCount}`);
  }
  const ratio = toRate / fromRate;
  if (ratio === 1) return passThrough(channelCount);
  if (quality === 'medium' && polyphaseRatio(fromRate, toRate)) {
    return lengthChecked(
      createPolyphaseResampler(await loadDspKernels(), fromRate, toRate, channelCount),
      fromRate,
      toRate,
    );
  }
  return lengthChecked(await createLibsamplerate(fromRate, toRate, channelCount, quality), fromRate, toRate);
}

async function createLibsamplerate(
  fromRate: number,
  toRate: number,
  channelCount: number,
  quality: ResampleQuality,
): Promise<StreamingResampler> {
  const ratio = toRate / fromRate;

  const [converterFrom, converterTo] = converterRates(fromRate, toRate);
  const src = await create(channelCount, converterFrom, converterTo, { converterType: CONVERTERS[quality] });
  // Input frames per wasm call, so that neither the input nor the output (plus slack) overflows the buffers.
  const chunk = Math.max(1, Math.floor((WASM_BUFFER_FLOATS * 0.8) / (channelCount * Math.max(1, ratio))));
  let framesIn = 0;
  let framesOut = 0;
  let destroyed = false;

  const run = (planar: Float32Array[], frames: number, limit: number): Float32Array[] => {
    const parts: Float32Array[][] = [];
    let total = 0;
    const interleaved = new Float32Array(Math.min(chunk, Math.max(frames, 1)) * channelCount);
    for (let start = 0; start < frames; start += chunk) {
      const n = Math.min(chunk, frames - start);
      const buf = n * channelCount === interleaved.length ? interleaved : new Float32Array(n * channelCount);
      for (let c = 0; c < channelCount; c++) {
        const ch = planar[c];
        for (let i = 0; i < n; i++) buf[i * channelCount + c] = ch[start + i];
      }
      const out = src.full(buf);
      let got = out.length / channelCount;
      got = Math.min(got, limit - framesOut - total);
      if (got <= 0) continue;
      const part: Float32Array[] = [];
      for (let c = 0; c < channelCount; c++) {
        const p = new Float32Array(got);
        for (let i = 0; i < got; i++) p[i] = out[i * channelCount + c];
        part.push(p);
      }
      parts.push(part);
      total += got;
    }
    framesOut += total;
    return concat(parts, channelCount, total);
  };

  return {
    process(planar) {
      if (destroyed) throw new XumxError('INTERNAL', 'resampler used after destroy()');
      if (planar.length !== channelCount || planar.some((c) => c.length !== planar[0].length)) {
        throw new XumxError('BAD_ARGUMENT', `resampler expects ${channelCount} channels of equal length`);
      }
      framesIn += planar[0].length;
      return run(planar, planar[0].length, Infinity);
    },
    flush() {
      if (destroyed) throw new XumxError('INTERNAL', 'resampler used after destroy()');
      const target = Math.round(framesIn * ratio);
      const parts: Float32Array[][] = [];
      let total = 0;
      const silence = Array.from({ length: channelCount }, () => new Float32Array(chunk));
      // The converter holds back about half its filter length; a few chunks of silence always release it.
      for (let guard = 0; framesOut < target && guard < 64; guard++) {
        const part = run(silence, chunk, target);
        parts.push(part);
        total += part[0].length;
      }
      return concat(parts, channelCount, total);
    },
    destroy() {
      if (!destroyed) src.destroy();
      destroyed = true;
    },
  };
}

/** libsamplerate-js refuses rates above 192 kHz, but its converter depends only on their ratio. */
const CONVERTER_MAX_RATE = 192_000;

/**
 * The rates to give libsamplerate-js: the ratio in lowest terms, which is within its range for every pair of
 * supported rates except a rate above 192 kHz that shares no factor with the other. For that one the nearest ratio
 * not above the true one (off by less than 1e-5): the stream then never runs ahead of its length, and flush() tops
 * it up to round(n · to / from).
 */
function converterRates(from: number, to: number): [number, number] {
  let a = from,
    b = to;
  while (b) [a, b] = [b, a % b];
  const f = from / a,
    t = to / a;
  if (Math.max(f, t) <= CONVERTER_MAX_RATE) return [f, t];
  return f > t
    ? [CONVERTER_MAX_RATE, Math.floor((t * CONVERTER_MAX_RATE) / f)]
    : [Math.ceil((f * CONVERTER_MAX_RATE) / t), CONVERTER_MAX_RATE];
}

function passThrough(channelCount: number): StreamingResampler {
  return {
    process: (planar) => planar.map((c) => c.slice()),
    flush: () => Array.from({ length: channelCount }, () => new Float32Array(0)),
    destroy: () => {},
  };
}

function concat(parts: Float32Array[][], channelCount: number, total: number): Float32Array[] {
  if (parts.length === 1) return parts[0];
  const out = Array.from({ length: channelCount }, () => new Float32Array(total));
  let pos = 0;
  for (const part of parts) {
    for (let c = 0; c < channelCount; c++) out[c].set(part[c], pos);
    pos += part[0].length;
  }
  return out;
}

/**
 * Converts planar audio from `fromRate` to `toRate`; each output channel has exactly
 * round(len * toRate / fromRate) samples. Equal rates return the input arrays themselves.
 */
export async function resample(
  channels: Float32Array[],
  fromRate: number,
  toRate: number,
  quality: ResampleQuality = DEFAULT_QUALITY,
): Promise<Float32Array[]> {
  if (channels.length === 0) throw new XumxError('BAD_ARGUMENT', 'resample: no channels given');
  if (fromRate === toRate) {
    checkRate(fromRate, 'input');
    return channels;
  }
  const resampler = await createResampler(fromRate, toRate, channels.length, quality);
  try {
    const head = resampler.process(channels);
    const tail = resampler.flush();
    return concat([head, tail], channels.length, head[0].length + tail[0].length);
  } finally {
    resampler.destroy();
  }
}
