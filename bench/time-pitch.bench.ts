// Tempo and key (Signalsmith Stretch): how exactly a sine comes back at the shifted pitch, how exact the stretched
// length is, and the CPU one stereo stream costs, as a real-time factor (seconds of output per second of CPU on one
// core), fed in 128-frame blocks as an AudioWorklet does and in 4096-frame blocks as an export does.
// Prints one JSON object; run with `node --import tsx bench/time-pitch.bench.ts [seconds of audio for the CPU run]`.
import { cpus } from 'node:os';
import {
  renderTimePitch,
  stretchedLength,
  TimePitchStream,
  type TimePitch,
} from '../src-main/engine/dsp/time-pitch.ts';
import { centsBetween, peakFrequency, sine } from '../src-main/engine/dsp/testing/pitch.ts';

const SR = 44100;
const cpuSeconds = Number(process.argv[2] ?? 30);
const round2 = (x: number) => Math.round(x * 100) / 100;

/** Cents between the strongest partial of the middle second and the expected frequency. */
async function pitchError(f0: number, tp: TimePitch): Promise<{ cents: number; lengthError: number }> {
  const frames = 3 * SR + 1;
  const [y] = await renderTimePitch([sine(f0, SR, frames)], SR, tp);
  const mid = Math.floor(y.length / 2);
  const expected = f0 * 2 ** (tp.semitones / 12);
  const f = peakFrequency(y.subarray(mid - SR / 2, mid + SR / 2), SR, expected * 0.95, expected * 1.05);
  return { cents: round2(centsBetween(f, expected)), lengthError: y.length - stretchedLength(frames, tp.tempo) };
}

const notes = [82.41, 110, 220, 440, 1000, 3000];
const shifts = [-12, -7, -5, -2, -1, 1, 2, 5, 7, 12];
const tempos = [0.5, 0.7, 0.8, 1.25, 1.5];
const keyRows: Record<string, Record<string, number>> = {};
const tempoRows: Record<string, Record<string, number>> = {};
let worstLengthError = 0;
for (const f0 of notes) {
  keyRows[f0] = {};
  for (const semitones of shifts) {
    const r = await pitchError(f0, { tempo: 1, semitones });
    keyRows[f0][semitones] = r.cents;
    worstLengthError = Math.max(worstLengthError, Math.abs(r.lengthError));
  }
  tempoRows[f0] = {};
  for (const tempo of tempos) {
    const r = await pitchError(f0, { tempo, semitones: 0 });
    tempoRows[f0][tempo] = r.cents;
    worstLengthError = Math.max(worstLengthError, Math.abs(r.lengthError));
  }
}
const abs = (rows: Record<string, Record<string, number>>, pick: (f0: number) => boolean) =>
  Object.entries(rows)
    .filter(([f0]) => pick(Number(f0)))
    .flatMap(([, r]) => Object.values(r).map(Math.abs));
const summary = (xs: number[]) => ({ worst: Math.max(...xs), mean: round2(xs.reduce((a, b) => a + b, 0) / xs.length) });

let seed = 7;
const noise = () =>
  Float32Array.from({ length: cpuSeconds * SR }, () => (seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296 - 0.5);
const stereo = [noise(), noise()];
const cpu: Record<string, number> = {};
for (const block of [128, 4096]) {
  for (const tp of [
    { tempo: 1, semitones: 2 },
    { tempo: 0.7, semitones: 0 },
    { tempo: 0.7, semitones: -2 },
    { tempo: 1.5, semitones: 5 },
  ]) {
    const stream = await TimePitchStream.create(2, SR, tp);
    const t0 = performance.now();
    let out = 0;
    for (let at = 0; at < stereo[0].length; at += block)
      out += stream.process(stereo.map((ch) => ch.subarray(at, at + block)))[0].length;
    out += stream.finish()[0].length;
    cpu[`block ${block}, tempo ${tp.tempo}, ${tp.semitones} st`] = round2(out / SR / ((performance.now() - t0) / 1000));
  }
}

console.log(
  JSON.stringify(
    {
      library: 'signalsmith-stretch 1.3.2 (WebAssembly)',
      cpu: cpus()[0]?.model,
      centsErrorByNote: { keyChangeAtTempo1: keyRows, tempoChangeAt0Semitones: tempoRows },
      centsError: {
        from220Hz: summary([...abs(keyRows, (f) => f >= 220), ...abs(tempoRows, (f) => f >= 220)]),
        below220Hz: summary([...abs(keyRows, (f) => f < 220), ...abs(tempoRows, (f) => f < 220)]),
      },
      worstLengthErrorFrames: worstLengthError,
      realTimeFactorPerStereoStream: cpu,
    },
    null,
    2,
  ),
);
