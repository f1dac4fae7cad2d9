// Re-render benchmark: `node --import tsx bench/rerender.bench.ts [--minutes 3] [--json]`.
// Separates a generated stereo song (test/fixtures/audio.ts makeSong) with a FULL-SIZE random-weight X-UMX
// (hidden 512, built into test-output/ by training/export_onnx.py, never into models/) with the estimate cache on,
// then changes the controls three times and re-renders from the cache, all in one process on one engine, so the ratio
// re-render / full separation compares like with like (both use the engine's DSP threads; wiener/istft timings
// are thread-seconds summed over them). The model is loaded by a short warm-up song first, so
// neither timing includes opening the network.
import { mkdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { ROOT, testModel } from '../test/integration/helpers/models.ts';
import { createEngine } from '../src-main/engine/index.ts';
import { EstimateCache } from '../src-main/engine/cache/estimate-cache.ts';
import type { SeparateRequest, SeparationControls, SeparationOk, SeparationResult } from '../src-main/engine/types.ts';

const OUT = join(ROOT, 'test-output', 'bench-rerender');

const { values: v } = parseArgs({ options: { minutes: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' } } });
const minutes = Number(v.minutes ?? 3);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const songPath = join(OUT, `song-${minutes}min.wav`);
const warmPath = join(OUT, 'warm-up.wav');
await makeSong(songPath, { seconds: minutes * 60, seed: 1 });
await makeSong(warmPath, { seconds: 5, seed: 2 });

const model = testModel('xumx-bench', 512);
const cacheDir = join(OUT, 'cache');
const engine = createEngine({ modelDirs: [model.root], allowTestModels: true, threads: Number(v.threads ?? 0), cache: { dir: cacheDir } });
const ok = (r: SeparationResult): SeparationOk => {
  if (!r.ok) throw new Error(r.error.message);
  return r;
};
const request = (input: string, controls: Partial<SeparationControls> = {}): SeparateRequest =>
  ({ input, outDir: join(OUT, 'stems'), modelId: model.id, ep: 'cpu', controls });
const timed = async (work: () => Promise<SeparationResult>) => {
  const t0 = performance.now();
  const r = ok(await work());
  return { seconds: (performance.now() - t0) / 1000, result: r };
};

const loadBefore = loadavg()[0];
ok(await engine.separate(request(warmPath)));
const full = await timed(() => engine.separate(request(songPath)));
const cacheBytes = await new EstimateCache({ dir: cacheDir }).size();
// Three different changes, timed one after another: this machine is shared, and the median of three is steadier.
const changes: Partial<SeparationControls>[] = [
  { strength: { vocals: 1.5, drums: 0.8 }, bleed: { bass: 0.2 } },
  { strength: { vocals: 0.7 } },
  { strength: { other: 2 }, bleed: { vocals: 0.3 } },
];
const rerenders = [];
for (const c of changes) rerenders.push(await timed(() => engine.rerender(request(songPath, c))));
const rerender = [...rerenders].sort((a, b) => a.seconds - b.seconds)[1];
const changed = changes[rerenders.indexOf(rerender)];
const again = await timed(() => engine.rerender(request(songPath, { ...changed, residual: true })));
await engine.dispose();
if (full.result.estimates !== 'network' || rerender.result.estimates !== 'cache') throw new Error('the cache did not answer the re-render');

const round = (x: number) => Math.round(x * 1000) / 1000;
const roundAll = (t: object) => Object.fromEntries(Object.entries(t).map(([k, x]) => [k, round(x as number)]));
const report = {
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, dspThreads: availableParallelism(), loadAverage1m: { before: loadBefore, after: loadavg()[0] } },
  model: { id: model.id, hidden: 512, weights: 'random (speed only)' },
  song: { seconds: full.result.duration },
  fullSeparation: { seconds: round(full.seconds), timings: roundAll(full.result.timings) },
  rerender: { seconds: round(rerender.seconds), timings: roundAll(rerender.result.timings), controls: changed, note: 'the median of three' },
  rerenderSeconds: rerenders.map((r) => round(r.seconds)),
  rerenderWithResidualStem: { seconds: round(again.seconds), timings: roundAll(again.result.timings) },
  ratio: round(rerender.seconds / full.seconds),
  target: { ratio: '<= 0.20' },
  cache: { bytes: cacheBytes, mbPerMinuteOfAudio: round(cacheBytes / 1e6 / (full.result.duration / 60)), format: 'float24' },
};
rmSync(join(OUT, 'stems'), { recursive: true, force: true });
if (v.json) console.log(JSON.stringify(report, null, 2));
else console.log(`full ${report.fullSeparation.seconds} s, re-render ${report.rerender.seconds} s, ratio ${report.ratio} (target ≤ 0.20); cache ${report.cache.mbPerMinuteOfAudio} MB/min`);
