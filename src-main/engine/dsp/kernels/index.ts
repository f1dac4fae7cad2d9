// The fast DSP path: PFFFT (SIMD WebAssembly, from npm) for the FFTs and this project's AssemblyScript kernels
// (assembly/dsp.ts) for everything around them, sharing one linear memory. One instance per thread, loaded once
// with loadDspKernels(); after that every call is synchronous.
//
// Results match the JavaScript reference implementations to float32 rounding; those stay the specification and
// serve the sizes PFFFT does not support. Each kernel, its reference, and the test that holds them together:
//
//   kernel (assembly/dsp.ts)     JS reference                                  test
//   stft, istft, divideInterior  ../stft.ts stft, istft                        kernels.test.ts "STFT and ISTFT"
//   firstEmStep, maxPower        ../wiener.ts wiener (literal steps)           kernels.test.ts "Wiener filter"
//   applyControls                ../controls.ts applyControls                  kernels.test.ts "separation controls"
//   decodeFloat24                ../../cache/float24.ts decodeFloat24          kernels.test.ts "sample formats"
//   toIntChannel, toInt16Stereo  ../../audio/pcm.ts toIntInterleavedReference  kernels.test.ts "sample formats"
//   checksum                     ../../cache/checksum.ts checksumReference     ../../cache/checksum.test.ts
//   resampleRun                  none: checked against analytic sweeps         ../resample.test.ts
//
// The .wasm is made by a build step (npm's `prepare`, scripts/build-kernels.mjs); the engine never compiles it.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Dither, Mulberry32 } from '../../audio/dither.ts';
import { XumxError } from '../../errors.ts';
import {
  DEFAULT_HOP,
  DEFAULT_N_FFT,
  divideEnvelopeEdges,
  envelopeInterior,
  istft as istftReference,
  reflectPad,
  stft as stftReference,
  type Spectrogram,
  type StftOptions,
} from '../stft.ts';
import {
  DEFAULT_WIENER_EPS,
  emStep,
  wiener as wienerReference,
  type StereoSpectrogram,
  type WienerOptions,
} from '../wiener.ts';
import { KERNEL_SOURCE, KERNEL_WASM, kernelsFresh } from './build.ts';

interface Pffft {
  _pffft_new_setup(n: number, transform: number): number;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, direction: number): void;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_aligned_free(ptr: number): void;
}

interface KernelExports {
  stft(
    padded: number,
    window: number,
    nFft: number,
    hop: number,
    frames: number,
    setup: number,
    scratch: number,
    re: number,
    im: number,
  ): void;
  istft(
    re: number,
    im: number,
    frames: number,
    nFft: number,
    hop: number,
    setup: number,
    synthesis: number,
    scratch: number,
    out: number,
    outLength: number,
  ): void;
  fftScratch(nFft: number): number;
  wienerScratchRows(J: number): number;
  wienerCoefficients(J: number): number;
  firstEmStep(
    table: number,
    N: number,
    residual: number,
    softmask: number,
    bins: number,
    frames: number,
    eps: number,
    scale: number,
    scratch: number,
    stride: number,
    coef: number,
    skip: number,
  ): void;
  applyControls(table: number, N: number, count: number, exponents: number, thresholds: number): void;
  decodeFloat24(bytes: number, count: number, out: number): void;
  checksum(bytes: number, n: number): number;
  divideInterior(out: number, start: number, end: number, inverse: number, hop: number, phase: number): void;
  maxPower(re: number, im: number, n: number): number;
  resampleRun(
    buf: number,
    bufStart: number,
    n: number,
    phase: number,
    count: number,
    coef: number,
    T: number,
    L: number,
    M: number,
    H: number,
    out: number,
  ): void;
  toIntChannel(
    src: number,
    n: number,
    out: number,
    channel: number,
    channels: number,
    scale: number,
    min: number,
    max: number,
    tpdf: number,
    state: number,
    width: number,
  ): void;
  toInt16Stereo(left: number, right: number, n: number, out: number, tpdf: number, state: number): void;
}

// The project's lib (ES2023, no DOM) has no WebAssembly typings: the few members used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
type WasmImports = Record<string, Record<string, unknown>>;
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Memory: abstract new () => WasmMemory;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: WasmImports) => WasmInstance;
    };
  }
).WebAssembly;

const PFFFT_REAL = 0;

const ceil4 = (n: number) => (n + 3) & ~3;

/** A transform size's PFFFT setup and windows in the shared memory. */
interface FftPlan {
  nFft: number;
  setup: number;
  /** float32 analysis window and window / nFft, in the heap. */
  window: number;
  synthesis: number;
  /** The float64 window, for the ISTFT's envelope division (done in JavaScript). */
  window64: Float64Array;
}

/** A named, growable, 16-byte aligned allocation in the shared memory. */
interface Slot {
  ptr: number;
  bytes: number;
}

export class DspKernels {
  private readonly plans = new Map<number, FftPlan | null>();
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly pffft: Pffft,
    readonly memory: WasmMemory,
    readonly k: KernelExports,
  ) {}

  /** Bytes at `ptr` as float32 (a fresh view: the memory's buffer changes when it grows). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  /**
   * The slot `name` with room for at least `bytes`; its old contents are lost when it grows. Growing may grow the
   * memory, which detaches every view made before: take views after the last slot() of an operation.
   */
  slot(name: string, bytes: number): number {
    const have = this.slots.get(name);
    if (have && have.bytes >= bytes) return have.ptr;
    if (have) this.pffft._pffft_aligned_free(have.ptr);
    const size = Math.max(bytes, Math.ceil((have?.bytes ?? 0) * 1.25), 64);
    const ptr = this.pffft._pffft_aligned_malloc(size);
    if (!ptr) throw new XumxError('INTERNAL', `the DSP kernels could not allocate ${size} bytes`);
    this.slots.set(name, { ptr, bytes: size });
    return ptr;
  }

  /** The heap address of `a`'s n floats: `a` itself when it is a view of the heap, else a copy in slot `name`. */
  place(name: string, a: Float32Array, n: number): number {
    if (a.buffer === this.memory.buffer) return a.byteOffset;
    if (a.length !== n)
      throw new XumxError(
        'INTERNAL',
        `DSP kernels: expected ${n} floats, got ${a.length} (a heap view taken before the memory grew?)`,
      );
    const p = this.slot(name, 4 * n);
    this.f32(p, n).set(a);
    return p;
  }

  /** The PFFFT plan for nFft, or null when PFFFT cannot do that size (real transforms need a multiple of 32). */
  plan(nFft: number): FftPlan | null {
    if (this.plans.has(nFft)) return this.plans.get(nFft)!;
    let plan: FftPlan | null = null;
    const setup = nFft % 32 === 0 ? this.pffft._pffft_new_setup(nFft, PFFFT_REAL) : 0;
    if (setup) {
      const window64 = new Float64Array(nFft);
      for (let n = 0; n < nFft; n++) window64[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft);
      const window = this.pffft._pffft_aligned_malloc(4 * nFft);
      const synthesis = this.pffft._pffft_aligned_malloc(4 * nFft);
      this.f32(window, nFft).set(window64);
      this.f32(synthesis, nFft).set(window64.map((w) => w / nFft));
      plan = { nFft, setup, window, synthesis, window64 };
    }
    this.plans.set(nFft, plan);
    return plan;
  }

  /** Same result as ../stft.ts stft() (to float32 rounding), several times faster. */
  stft(signal: Float32Array, opts?: StftOptions): Spectrogram {
    const nFft = opts?.nFft ?? DEFAULT_N_FFT;
    const hop = opts?.hop ?? DEFAULT_HOP;
    const plan = this.plan(nFft);
    if (!plan || !Number.isInteger(hop) || hop < 1 || hop > nFft) return stftReference(signal, opts);
    const padded = reflectPad(signal, nFft);
    const frames = 1 + Math.floor((padded.length - nFft) / hop);
    const bins = nFft / 2 + 1;
    const plane = bins * frames;
    const pPadded = this.slot('stft.padded', 4 * padded.length);
    const pScratch = this.slot('fft.scratch', 4 * this.k.fftScratch(nFft));
    const pRe = this.slot('stft.re', 4 * plane);
    const pIm = this.slot('stft.im', 4 * plane);
    this.f32(pPadded, padded.length).set(padded);
    this.k.stft(pPadded, plan.window, nFft, hop, frames, plan.setup, pScratch, pRe, pIm);
    return { re: this.f32(pRe, plane).slice(), im: this.f32(pIm, plane).slice(), bins, frames };
  }

  /**
   * stft() into a spectrogram already in the heap (chunkViews' `mix`), with the default transform size and hop;
   * its shape must be the signal's.
   */
  stftInto(signal: Float32Array, out: Spectrogram): void {
    const plan = this.plan(DEFAULT_N_FFT);
    const padded = reflectPad(signal, DEFAULT_N_FFT);
    const frames = 1 + Math.floor((padded.length - DEFAULT_N_FFT) / DEFAULT_HOP);
    if (!plan || out.bins !== DEFAULT_N_FFT / 2 + 1 || out.frames !== frames) {
      throw new XumxError(
        'INTERNAL',
        `DSP kernels: ${signal.length} samples give ${frames} frames, the spectrogram has ${out.frames}`,
      );
    }
    const pPadded = this.slot('stft.padded', 4 * padded.length);
    const pScratch = this.slot('fft.scratch', 4 * this.k.fftScratch(DEFAULT_N_FFT));
    this.heapCheck([out.re, out.im]); // after the slots: growing the memory would have detached `out`
    this.f32(pPadded, padded.length).set(padded);
    this.k.stft(
      pPadded,
      plan.window,
      DEFAULT_N_FFT,
      DEFAULT_HOP,
      frames,
      plan.setup,
      pScratch,
      out.re.byteOffset,
      out.im.byteOffset,
    );
  }

  /** Same result as ../stft.ts istft() (to float32 rounding). A spectrogram already in the heap is not copied. */
  istft(spec: Spectrogram, length: number, opts?: StftOptions): Float32Array {
    const nFft = opts?.nFft ?? (spec.bins - 1) * 2;
    const hop = opts?.hop ?? DEFAULT_HOP;
    const plan = this.plan(nFft);
    if (
      !plan ||
      spec.bins !== nFft / 2 + 1 ||
      !Number.isInteger(length) ||
      length < 0 ||
      !Number.isInteger(hop) ||
      hop < 1 ||
      hop > nFft
    ) {
      return istftReference(spec, length, opts);
    }
    const plane = spec.bins * spec.frames;
    const pScratch = this.slot('fft.scratch', 4 * this.k.fftScratch(nFft));
    const pOut = this.slot('istft.out', 4 * Math.max(1, length));
    const pRe = this.place('istft.re', spec.re, plane);
    const pIm = this.place('istft.im', spec.im, plane);
    const pInverse = this.slot('istft.inverse', 8 * hop);
    this.f32(pOut, length).fill(0);
    this.k.istft(pRe, pIm, spec.frames, nFft, hop, plan.setup, plan.synthesis, pScratch, pOut, length);
    const { inversePeriodic, start, end, phase } = envelopeInterior(plan.window64, spec.frames, hop, nFft / 2, length);
    new Float64Array(this.memory.buffer, pInverse, hop).set(inversePeriodic);
    this.k.divideInterior(pOut, start, end, pInverse, hop, phase);
    const out = this.f32(pOut, length).slice();
    divideEnvelopeEdges(out, plan.window64, spec.frames, hop, nFft / 2, start, end);
    return out;
  }

  /**
   * Reserves every buffer one chunk needs (estimates, mixture, filtered sources, the Wiener filter's and the ISTFT's
   * scratch) and returns views of them: nothing allocates again until the next chunk, so the views stay valid.
   */
  chunkViews(N: number, J: number, bins: number, frames: number, chunkLength: number): ChunkViews {
    const plane = bins * frames;
    const estimateFloats = ceil4(2 * plane);
    const nFft = (bins - 1) * 2;
    const stride = ceil4(frames);
    const ptr = {
      estimates: Array.from({ length: N }, (_, j) => this.slot(`chunk.estimate${j}`, 4 * estimateFloats)),
      mix: Array.from({ length: 4 }, (_, i) => this.slot(`chunk.mix${i}`, 4 * plane)),
      filtered: Array.from({ length: 4 * J }, (_, i) => this.slot(`chunk.filtered${i}`, 4 * plane)),
    };
    this.slot('wiener.table', 4 * (N + 4 + 4 * J));
    this.slot('wiener.scratch', 8 * stride * this.k.wienerScratchRows(J));
    this.slot('wiener.coef', 8 * this.k.wienerCoefficients(J));
    this.slot('controls.table', 4 * N);
    this.slot('controls.values', 4 * 2 * N);
    this.slot('fft.scratch', 4 * this.k.fftScratch(nFft));
    this.slot('istft.out', 4 * Math.max(1, chunkLength));
    this.slot('stft.padded', 4 * (Math.max(chunkLength, nFft / 2 + 1) + nFft));
    this.slot('istft.inverse', 8 * DEFAULT_HOP);
    this.slot('f24.in', 3 * N * 2 * plane + 16);
    const spec = (re: number, im: number): Spectrogram => ({
      re: this.f32(re, plane),
      im: this.f32(im, plane),
      bins,
      frames,
    });
    const estimates = ptr.estimates.map((p) => {
      const all = this.f32(p, estimateFloats);
      all.fill(0, 2 * plane); // the controls kernel reads whole quads
      return all.subarray(0, 2 * plane);
    });
    const f = ptr.filtered;
    return {
      estimates,
      mix: [spec(ptr.mix[0], ptr.mix[1]), spec(ptr.mix[2], ptr.mix[3])],
      filtered: Array.from(
        { length: J },
        (_, j) => [spec(f[4 * j], f[4 * j + 1]), spec(f[4 * j + 2], f[4 * j + 3])] as StereoSpectrogram,
      ),
    };
  }

  /**
   * ../controls.ts applyControls() on heap estimates (chunkViews), in place: `exponents` and `thresholds` per source.
   */
  applyControls(estimates: Float32Array[], exponents: number[], thresholds: number[]): void {
    const N = estimates.length;
    const table = this.slot('controls.table', 4 * N);
    const values = this.slot('controls.values', 4 * 2 * N);
    this.heapCheck(estimates);
    new Uint32Array(this.memory.buffer, table, N).set(estimates.map((e) => e.byteOffset));
    const v = this.f32(values, 2 * N);
    v.set(exponents);
    v.set(thresholds, N);
    this.k.applyControls(table, N, ceil4(estimates[0].length), values, values + 4 * N);
  }

  /**
   * ../wiener.ts wiener() on heap buffers (chunkViews), writing into `out`. The first EM step (fused with the
   * initial estimates) runs in the kernels; further iterations and the 0-iteration case use the reference code on
   * the same heap views.
   */
  wiener(
    estimates: Float32Array[],
    mix: [Spectrogram, Spectrogram],
    opts: WienerOptions,
    out: StereoSpectrogram[],
    /** A source whose output is not needed (renderChunk gets the partition's stem by subtraction); one iteration only. */
    skip = -1,
  ): StereoSpectrogram[] {
    if (opts.iterations < 1) return wienerReference(estimates, mix, opts, out);
    const N = estimates.length;
    const J = N + (opts.residual ? 1 : 0);
    const { bins, frames } = mix[0];
    const eps = opts.eps ?? DEFAULT_WIENER_EPS;
    if (out.length !== J || estimates.some((e) => e.length !== 2 * bins * frames)) {
      throw new XumxError(
        'BAD_ARGUMENT',
        `Wiener filter: ${N} estimates of 2x${bins}x${frames} and ${J} outputs expected`,
      );
    }
    const stride = ceil4(frames);
    const table = this.slot('wiener.table', 4 * (N + 4 + 4 * J));
    const scratch = this.slot('wiener.scratch', 8 * stride * this.k.wienerScratchRows(J));
    const coef = this.slot('wiener.coef', 8 * this.k.wienerCoefficients(J));
    const planes = [...mix.flatMap((s) => [s.re, s.im]), ...out.flatMap((s) => s.flatMap((c) => [c.re, c.im]))];
    this.heapCheck([...estimates, ...planes]);
    new Uint32Array(this.memory.buffer, table, N + 4 + 4 * J).set([...estimates, ...planes].map((a) => a.byteOffset));
    const power = Math.max(...mix.map((x) => this.k.maxPower(x.re.byteOffset, x.im.byteOffset, bins * frames)));
    const scale = Math.max(1, Math.sqrt(power) / 10); // ../wiener.ts maxAbs(mix) / 10, the same value
    if (skip >= 0 && opts.iterations > 1)
      throw new XumxError('INTERNAL', 'Wiener filter: every output feeds a further EM iteration; none can be skipped');
    this.k.firstEmStep(
      table,
      N,
      opts.residual ? 1 : 0,
      opts.softmask ? 1 : 0,
      bins,
      frames,
      eps,
      scale,
      scratch,
      stride,
      coef,
      skip,
    );
    for (let it = 1; it < opts.iterations; it++) emStep(out, mix, scale, eps);
    return out;
  }

  /** ../../cache/float24.ts decodeFloat24(), the same values. */
  decodeFloat24(bytes: Uint8Array, out: Float32Array): Float32Array {
    const n = out.length;
    if (bytes.length < 3 * n)
      throw new XumxError('BAD_ARGUMENT', `float24: ${bytes.length} bytes cannot hold ${n} values`);
    const pIn = this.slot('f24.in', 3 * n + 16);
    const pOut = this.slot('f24.out', 4 * n);
    new Uint8Array(this.memory.buffer, pIn, 3 * n).set(bytes.subarray(0, 3 * n));
    this.k.decodeFloat24(pIn, n, pOut);
    out.set(this.f32(pOut, n));
    return out;
  }

  /** ../../cache/checksum.ts checksumReference(), the same value. */
  checksum(bytes: Uint8Array): number {
    const p = this.slot('checksum.in', Math.max(16, bytes.length));
    new Uint8Array(this.memory.buffer, p, bytes.length).set(bytes);
    return this.k.checksum(p, bytes.length) >>> 0;
  }

  /**
   * A cache record (the sources' float24 estimates one after the other) decoded into heap estimates (chunkViews).
   * With `expected`, the record's checksum (../../cache/checksum.ts) is checked first, in the heap: CACHE_CORRUPT
   * when it differs.
   */
  decodeFloat24Into(record: Uint8Array, estimates: Float32Array[], expected?: number): void {
    const n = estimates[0]?.length ?? 0;
    if (record.length !== 3 * n * estimates.length) {
      throw new XumxError(
        'CACHE_CORRUPT',
        `a cached chunk holds ${record.length} bytes, ${estimates.length} estimates of ${n} values need ${3 * n * estimates.length}`,
      );
    }
    const pIn = this.slot('f24.in', record.length + 16);
    this.heapCheck(estimates);
    new Uint8Array(this.memory.buffer, pIn, record.length).set(record);
    if (expected !== undefined && this.k.checksum(pIn, record.length) >>> 0 !== expected) {
      throw new XumxError('CACHE_CORRUPT', 'checksum mismatch');
    }
    estimates.forEach((e, j) => this.k.decodeFloat24(pIn + 3 * n * j, n, e.byteOffset));
  }

  /** ../../audio/pcm.ts toIntInterleaved(), the same integers, the same dither sequence and the same state after. */
  toIntInterleaved(
    planar: Float32Array[],
    bits: 16 | 24,
    dither: Dither,
    rand: Mulberry32,
  ): { ints: Int32Array; clipped: number } {
    const { ptr, length, clipped } = this.toInts(planar, bits, dither, rand, 4);
    return { ints: new Int32Array(this.memory.buffer, ptr, length).slice(), clipped };
  }

  /** 16-bit codes straight into an Int16Array (a 16-bit WAV's data): toIntInterleaved without the int32 step. */
  toInt16Interleaved(
    planar: Float32Array[],
    dither: Dither,
    rand: Mulberry32,
  ): { samples: Int16Array; clipped: number } {
    const { ptr, length, clipped } =
      planar.length === 2 ? this.toInt16Stereo(planar, dither, rand) : this.toInts(planar, 16, dither, rand, 2);
    return { samples: new Int16Array(this.memory.buffer, ptr, length).slice(), clipped };
  }

  private toInt16Stereo(
    planar: Float32Array[],
    dither: Dither,
    rand: Mulberry32,
  ): { ptr: number; length: number; clipped: number } {
    const n = planar[0].length;
    if (planar[1].length !== n) throw new XumxError('BAD_ARGUMENT', `channels of ${n} and ${planar[1].length} samples`);
    const pLeft = this.slot('pcm.src', 4 * Math.max(4, n));
    const pRight = this.slot('pcm.src2', 4 * Math.max(4, n));
    const pOut = this.slot('pcm.out', 4 * Math.max(4, n));
    const pState = this.slot('pcm.state', 8);
    const state = new Uint32Array(this.memory.buffer, pState, 2);
    state[0] = rand.state;
    state[1] = 0;
    this.f32(pLeft, n).set(planar[0]);
    this.f32(pRight, n).set(planar[1]);
    this.k.toInt16Stereo(pLeft, pRight, n, pOut, dither === 'tpdf' ? 1 : 0, pState);
    const done = new Uint32Array(this.memory.buffer, pState, 2);
    rand.state = done[0];
    return { ptr: pOut, length: 2 * n, clipped: done[1] };
  }

  private toInts(
    planar: Float32Array[],
    bits: 16 | 24,
    dither: Dither,
    rand: Mulberry32,
    width: 2 | 4,
  ): { ptr: number; length: number; clipped: number } {
    const ch = planar.length;
    const n = planar[0]?.length ?? 0;
    const pSrc = this.slot('pcm.src', 4 * Math.max(1, n));
    const pOut = this.slot('pcm.out', width * Math.max(1, n * ch));
    const pState = this.slot('pcm.state', 8);
    const state = new Uint32Array(this.memory.buffer, pState, 2);
    state[0] = rand.state;
    state[1] = 0;
    const scale = 2 ** (bits - 1);
    for (let c = 0; c < ch; c++) {
      this.f32(pSrc, n).set(planar[c]);
      this.k.toIntChannel(pSrc, n, pOut, c, ch, scale, -scale, scale - 1, dither === 'tpdf' ? 1 : 0, pState, width);
    }
    const done = new Uint32Array(this.memory.buffer, pState, 2);
    rand.state = done[0];
    return { ptr: pOut, length: n * ch, clipped: done[1] };
  }

  private heapCheck(arrays: Float32Array[]): void {
    if (arrays.some((a) => a.buffer !== this.memory.buffer)) {
      throw new XumxError(
        'INTERNAL',
        "DSP kernels: a buffer is not (or no longer) a view of the kernels' memory; take views with chunkViews()",
      );
    }
  }
}

/** Heap views of one chunk's buffers (chunkViews), valid until the next chunkViews() or stft() call. */
export interface ChunkViews {
  /** Per source its magnitudes [2][bins][frames]. */
  estimates: Float32Array[];
  mix: [Spectrogram, Spectrogram];
  /** Per output source (sources, then residual) its filtered stereo spectrogram. */
  filtered: StereoSpectrogram[];
}

let loading: Promise<DspKernels> | undefined;
let loaded: DspKernels | undefined;

/** Loads (and when needed first builds) the kernels for this thread; later calls return the same instance. */
export function loadDspKernels(): Promise<DspKernels> {
  loading ??= instantiate().then((k) => (loaded = k));
  return loading;
}

/** The loaded kernels; an error when loadDspKernels() has not finished in this thread. */
export function dspKernels(): DspKernels {
  if (!loaded)
    throw new XumxError('INTERNAL', 'the DSP kernels were used before loadDspKernels() finished in this thread');
  return loaded;
}

/** Where a packaged build keeps the kernels: beside the bundled JavaScript (scripts/build-electron.mjs). */
const BUNDLED_WASM = new URL('./dsp-kernels.wasm', import.meta.url);

/**
 * The kernels' WebAssembly: in a checkout the build from `npm install` (npm's `prepare`), refused when it is
 * missing or older than the source rather than compiled here, so what runs is always what a build step made; in a
 * packaged app the copy beside the bundles.
 */
export function kernelBytes(
  where: { source: string; wasm: string; bundled: string } = {
    source: KERNEL_SOURCE,
    wasm: KERNEL_WASM,
    bundled: BUNDLED_WASM.pathname,
  },
): Uint8Array {
  if (existsSync(where.source)) {
    if (!kernelsFresh(where.wasm)) {
      const state = existsSync(where.wasm) ? 'older than its source' : 'missing';
      throw new XumxError(
        'INTERNAL',
        `the DSP kernels (${where.wasm}) are ${state}: run \`npm run build:kernels\` (npm install does it too)`,
        where.wasm,
      );
    }
    return readFileSync(where.wasm);
  }
  if (existsSync(where.bundled)) return readFileSync(where.bundled);
  throw new XumxError('INTERNAL', `the DSP kernels are missing: neither ${where.source} nor ${where.bundled} exists`);
}

async function instantiate(): Promise<DspKernels> {
  const require = createRequire(import.meta.url);
  const gluePath = require.resolve('@echogarden/pffft-wasm/simd');
  const { default: createPffft } = (await import(gluePath)) as { default: (arg: object) => Promise<Pffft> };
  let memory: WasmMemory | undefined;
  const pffftWasm = readFileSync(join(dirname(gluePath), 'pffft.wasm'));
  const pffft = await createPffft({
    // Emscripten's documented hook for instantiating the module ourselves: it is how its memory is reached.
    instantiateWasm(imports: WasmImports, done: (instance: WasmInstance, module: object) => void) {
      const module = new Wasm.Module(pffftWasm);
      const instance = new Wasm.Instance(module, imports);
      memory = Object.values(instance.exports).find((e): e is WasmMemory => e instanceof Wasm.Memory);
      done(instance, module);
      return instance.exports;
    },
  });
  if (!memory) throw new XumxError('INTERNAL', 'PFFFT did not export its memory');
  // The first call swaps Emscripten's lazy wrapper for the module's own export, so the kernels call PFFFT directly.
  const setup = pffft._pffft_new_setup(32, PFFFT_REAL);
  const buf = pffft._pffft_aligned_malloc(3 * 32 * 4);
  pffft._pffft_transform_ordered(setup, buf, buf + 128, buf + 256, 0);
  pffft._pffft_aligned_free(buf);
  const kernels = new Wasm.Instance(new Wasm.Module(kernelBytes()), {
    env: { memory },
    pffft: { transform: pffft._pffft_transform_ordered },
  });
  return new DspKernels(pffft, memory, kernels.exports as unknown as KernelExports);
}
