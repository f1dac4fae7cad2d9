// DSP timings for a 3-minute stereo song at 44.1 kHz (random signal): STFT of the mix, Wiener filter of 4
// sources with 1 EM iteration (X-UMX evaluation settings), ISTFT of 4 stereo stems, and 48 kHz -> 44.1 kHz
// resampling; then the engine's per-chunk path (renderChunk: controls, Wiener, ISTFT) on the WebAssembly kernels
// against the same steps on the JavaScript reference, with their ratio from this one run.
// Prints one JSON object; run with `node --import tsx bench/dsp.bench.ts [seconds]`.
import { cpus } from 'node:os';
import { stft, istft, magnitude, type Spectrogram } from '../src-main/engine/dsp/stft.ts';
import { wiener } from '../src-main/engine/dsp/wiener.ts';
import { resample } from '../src-main/engine/dsp/resample.ts';
import { loadDspKernels } from '../src-main/engine/dsp/kernels/index.ts';
import { renderChunk, renderChunkReference, type EstimatesChunk } from '../src-main/engine/separate/chunk-render.ts';

const seconds = Number(process.argv[2] ?? 180);
const rate = 44100;
const length = seconds * rate;

let seed = 12345;
const random = () => {
  seed = (seed * 1103515245 + 12345) >>> 0;
  return seed / 4294967296;
};
const channel = (n: number) => Float32Array.from({ length: n }, () => random() - 0.5);

const time = <T>(fn: () => T): [T, number] => {
  const t0 = performance.now();
  const r = fn();
  return [r, (performance.now() - t0) / 1000];
};
const timeAsync = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
};

const mixAudio = [channel(length), channel(length)];

const [mix, stftS] = time(() => [stft(mixAudio[0]), stft(mixAudio[1])] as [Spectrogram, Spectrogram]);
const plane = mix[0].bins * mix[0].frames;

// Stand-in model output: the mixture magnitude split among 4 sources with random weights.
const mags = [magnitude(mix[0]), magnitude(mix[1])];
const estimates = [0, 1, 2, 3].map(() => {
  const e = new Float32Array(2 * plane);
  for (let c = 0; c < 2; c++) for (let i = 0; i < plane; i++) e[c * plane + i] = mags[c][i] * random() * 0.5;
  return e;
});

const [stems, wienerS] = time(() => wiener(estimates, mix, { iterations: 1, softmask: false, residual: false }));
const [, istftS] = time(() => stems.map((s) => [istft(s[0], length), istft(s[1], length)]));

// Resampling: the whole song with the default quality, 20 s with 'best' (it is several times slower).
const at48k = [channel(seconds * 48000), channel(seconds * 48000)];
const [, resampleMediumS] = await timeAsync(() => resample(at48k, 48000, 44100, 'medium'));
const bestSeconds = Math.min(20, seconds);
const [, resampleBestS] = await timeAsync(() =>
  resample(
    at48k.map((c) => c.subarray(0, bestSeconds * 48000)),
    48000,
    44100,
    'best',
  ),
);

// The engine's chunk path: 256 + 16 frames per chunk as the pipeline cuts them, with a control change applied.
const kernels = await loadDspKernels();
const chunkFrames = 272;
const chunkLength = (chunkFrames - 1) * 1024;
const chunks = Math.ceil(mix[0].frames / 256);
const chunkMix = [
  kernels.stft(mixAudio[0].subarray(0, chunkLength)),
  kernels.stft(mixAudio[1].subarray(0, chunkLength)),
] as [Spectrogram, Spectrogram];
const chunkPlane = chunkMix[0].bins * chunkMix[0].frames;
const chunkEstimates = estimates.map((e) => {
  const c = new Float32Array(2 * chunkPlane);
  for (let ch = 0; ch < 2; ch++) c.set(e.subarray(ch * plane, ch * plane + chunkPlane), ch * chunkPlane);
  return c;
});
const task = (): EstimatesChunk => ({
  kind: 'estimates',
  estimates: chunkEstimates.map((e) => e.slice()),
  mix: chunkMix,
  sources: ['vocals', 'drums', 'bass', 'other'],
  controls: {
    wienerIterations: 1,
    softmask: false,
    residual: false,
    strength: { vocals: 1.5, drums: 0.8 },
    bleed: { bass: 0.2 },
  },
  chunkLength,
  samples: mixAudio.map((ch) => ch.slice(0, chunkLength)),
});
renderChunk(kernels, task());
const [, kernelChunkS] = time(() => {
  for (let i = 0; i < 5; i++) renderChunk(kernels, task());
});
const [, referenceChunkS] = time(() => {
  for (let i = 0; i < 5; i++) renderChunkReference(task());
});

const round = (x: number) => Math.round(x * 1000) / 1000;
const total = stftS + wienerS + istftS;
console.log(
  JSON.stringify(
    {
      audioSeconds: seconds,
      frames: mix[0].frames,
      bins: mix[0].bins,
      seconds: {
        stftMixStereo: round(stftS),
        wiener4Sources1Iteration: round(wienerS),
        istft4StemsStereo: round(istftS),
        totalStftWienerIstft: round(total),
        resample48to44k1Medium: round(resampleMediumS),
        [`resample48to44k1Best_${bestSeconds}s`]: round(resampleBestS),
      },
      chunkRender: {
        note: `per chunk of ${chunkFrames} frames (controls, Wiener, ISTFT of 3 stems, the 4th by subtraction), one thread`,
        kernelMs: round((kernelChunkS / 5) * 1000),
        referenceMs: round((referenceChunkS / 5) * 1000),
        speedup: round(referenceChunkS / kernelChunkS),
        kernelSecondsPerSong: round((kernelChunkS / 5) * chunks),
      },
      realtimeFactor: {
        stftWienerIstft: round(seconds / total),
        resampleMedium: round(seconds / resampleMediumS),
        resampleBest: round(bestSeconds / resampleBestS),
      },
      machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    },
    null,
    2,
  ),
);
