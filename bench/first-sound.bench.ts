// Time to first sound: how long after a song starts separating the first frames of its listening copy are final
// (what the player can start playing), and how long the whole separation takes, as the app runs it (fresh estimate
// cache, default threads, the bundled model unless --models/--model-id say otherwise).
//   node --import tsx bench/first-sound.bench.ts [--minutes 3] [--runs 2] [--models DIR --model-id ID]
// Each run separates the song twice, in alternating order: with a first network run of one chunk (the default) and
// of a whole batch (as before), so a busy machine's changing load falls on both alike.
// Prints JSON: per run the seconds to the first final frames, how many frames those were, and the whole separation.
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { ROOT } from '../test/integration/helpers/models.ts';
import { bundledModelsDir, createEngine } from '../src-main/engine/index.ts';
import { segmentsFor } from '../src-main/engine/separate/segment-settings.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    runs: { type: 'string', default: '2' },
    models: { type: 'string' },
    'model-id': { type: 'string' },
  },
});
const out = join(ROOT, 'test-output', 'bench', 'first-sound');
mkdirSync(out, { recursive: true });
const minutes = Number(values.minutes);
const song = join(out, `song-${minutes}m.wav`);
await makeSong(song, { seconds: minutes * 60, seed: 11, sampleRate: 44100, bitDepth: 16 });

const runs: Record<string, unknown>[] = [];
const order = Array.from({ length: Number(values.runs) }, (_, k) =>
  k % 2 === 0 ? ['one-chunk', 'whole-batch'] : ['whole-batch', 'one-chunk'],
).flat();
for (const [k, firstRun] of order.entries()) {
  const cache = join(out, `cache-${k}`);
  rmSync(cache, { recursive: true, force: true });
  const segments = firstRun === 'one-chunk' ? {} : { firstBatch: segmentsFor('cpu').batch };
  const engine = createEngine({ modelDirs: [values.models ?? bundledModelsDir()], cache: { dir: cache }, segments });
  let first: { seconds: number; frames: number } | null = null;
  /** When each stage was first reported, seconds from the start. */
  const stages: Record<string, number> = {};
  const t0 = performance.now();
  const r = await engine.separate(
    { input: song, outDir: join(out, 'stems'), ...(values['model-id'] ? { modelId: values['model-id'] } : {}) },
    {
      onProgress: (p) => {
        stages[p.stage] ??= +((performance.now() - t0) / 1000).toFixed(2);
      },
      listen: {
        path: join(out, `copy-${k}.f32`),
        onReady: (l) => {
          if (!first && l.readyFrames > 0) first = { seconds: (performance.now() - t0) / 1000, frames: l.readyFrames };
        },
      },
    },
  );
  const totalSeconds = (performance.now() - t0) / 1000;
  await engine.dispose();
  rmSync(join(out, `copy-${k}.f32`), { force: true });
  rmSync(cache, { recursive: true, force: true });
  if (!r.ok) throw new Error(r.error.message);
  const f = first as { seconds: number; frames: number } | null;
  runs.push({
    firstRun,
    load: loadavg()[0],
    firstFinalSeconds: f?.seconds ?? null,
    firstFinalAudioSeconds: f ? f.frames / r.sampleRate : null,
    totalSeconds,
    stagesFirstSeen: stages,
    timings: r.timings,
    ep: r.ep,
    modelId: r.modelId,
  });
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (name: string) => {
  const mine = runs.filter((r) => r.firstRun === name) as { firstFinalSeconds: number; totalSeconds: number }[];
  return {
    medianFirstFinalSeconds: median(mine.map((r) => r.firstFinalSeconds)),
    medianTotalSeconds: median(mine.map((r) => r.totalSeconds)),
  };
};
const oneChunk = summary('one-chunk');
const wholeBatch = summary('whole-batch');
process.stdout.write(
  `${JSON.stringify(
    {
      minutes,
      cores: availableParallelism(),
      runs,
      oneChunk,
      wholeBatch,
      ratio: {
        firstFinal: oneChunk.medianFirstFinalSeconds / wholeBatch.medianFirstFinalSeconds,
        total: oneChunk.medianTotalSeconds / wholeBatch.medianTotalSeconds,
      },
    },
    null,
    2,
  )}\n`,
);
