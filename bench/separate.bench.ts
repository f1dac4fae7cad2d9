// End-to-end separation benchmark:
//   npm run bench -- --json [--minutes 3] [--rss10] [--ep cpu|auto|…] [--segments F,O,B] [--threads N] [--dsp-threads N]
//                        [--models DIR --model-id ID]
//   npm run bench -- --json --models DIR --compare ID,ID,... [--rounds 3] [--minutes 0.5] [--threads 1] [--dsp-threads 1]
// Generates a seeded stereo song (test/fixtures/audio.ts makeSong), separates it with a FULL-SIZE X-UMX graph
// (hidden 512, ≈35.6 M parameters; random weights: they cost exactly what trained ones cost, and they live in
// test-output/, never in models/), then times the network alone on the same chunks in the same process, so the
// DSP+I/O overhead is a ratio. Each measurement runs in a fresh child process so its peak RSS is its own.
// --compare separates the same song with several model folders of DIR, in alternating rounds (A B C A B C ...: the
// machine's drift lands on every model alike), and reports each one's network time and peak RSS as medians and as
// ratios to the first id (the model card's precision table uses it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { testModel, ROOT } from '../test/integration/helpers/models.ts';
import { createEngine } from '../src-main/engine/index.ts';
import { decodeFile } from '../src-main/engine/audio/decode.ts';
import { magnitude, stft } from '../src-main/engine/dsp/stft.ts';
import { pickModel, scanModels } from '../src-main/engine/model/registry.ts';
import { openModel } from '../src-main/engine/model/session.ts';
import { CONTRACT } from '../src-main/engine/model/manifest.ts';
import { segmentsFor } from '../src-main/engine/separate/segment-settings.ts';
import { minChunkLength, planChunks } from '../src-main/engine/separate/segments.ts';
import type { SegmentSettings } from '../src-main/engine/separate/segment-settings.ts';
import type { EpChoice } from '../src-main/engine/types.ts';
import { threadPlan } from '../src-main/engine/separate/threading.ts';

const OUT = process.env.XUMX_BENCH_OUT ?? join(ROOT, 'test-output', 'bench');

interface ChildConfig {
  song: string;
  models: string;
  id: string;
  segments?: Partial<SegmentSettings>;
  threads?: number;
  dspThreads?: number;
  network: boolean;
  ep: EpChoice;
}

interface ChildReport {
  seconds: number;
  totalSeconds: number;
  timings: Record<string, number>;
  ep: string;
  epSkipped: unknown[];
  segments: SegmentSettings;
  peakRssMB: number;
  networkPureSeconds?: number;
  networkRuns?: number;
}

/** One separation (and optionally the network alone) in this process; prints a ChildReport. */
async function child(cfg: ChildConfig): Promise<void> {
  const engine = createEngine({
    modelDirs: [cfg.models],
    allowTestModels: true,
    threads: cfg.threads,
    segments: cfg.segments,
    ...(cfg.dspThreads !== undefined ? { dspThreads: cfg.dspThreads } : {}),
  });
  const t0 = performance.now();
  const r = await engine.separate({ input: cfg.song, outDir: join(OUT, 'stems'), modelId: cfg.id, ep: cfg.ep });
  const totalSeconds = (performance.now() - t0) / 1000;
  await engine.dispose();
  if (!r.ok) throw new Error(r.error.message);
  const report: ChildReport = {
    seconds: r.duration,
    totalSeconds,
    timings: { ...r.timings },
    ep: r.ep,
    epSkipped: r.epSkipped,
    segments: segmentsFor(r.ep, cfg.segments),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
  if (cfg.network) Object.assign(report, await pureNetwork(cfg, report.segments, report.ep as EpChoice));
  process.stdout.write(JSON.stringify(report));
}

/** The network alone on the same chunks and batches the pipeline ran: STFT outside the clock. */
async function pureNetwork(
  cfg: ChildConfig,
  segments: SegmentSettings,
  ep: EpChoice,
): Promise<{ networkPureSeconds: number; networkRuns: number }> {
  const model = await openModel(pickModel(await scanModels([cfg.models], { allowTestModels: true }), cfg.id, []), {
    ep,
    threads: threadPlan(availableParallelism(), false, { threads: cfg.threads }).network,
  });
  const song = (await decodeFile(cfg.song)).channels;
  const plan = planChunks(song[0].length, segments, CONTRACT.hop, minChunkLength(CONTRACT.nFft));
  const plane = CONTRACT.bins * plan.frames;
  let seconds = 0,
    runs = 0;
  for (let first = 0; first < plan.chunks.length; first += segments.batch) {
    const count = Math.min(segments.batch, plan.chunks.length - first);
    const input = new Float32Array(count * 2 * plane);
    for (let b = 0; b < count; b++) {
      const { start, length } = plan.chunks[first + b];
      for (let c = 0; c < 2; c++) {
        const samples = new Float32Array(plan.chunkLength);
        samples.set(song[c].subarray(start, start + length));
        magnitude(stft(samples), input.subarray((b * 2 + c) * plane, (b * 2 + c + 1) * plane));
      }
    }
    const t0 = performance.now();
    await model.run(input, count, plan.frames);
    seconds += (performance.now() - t0) / 1000;
    runs++;
  }
  await model.dispose();
  return { networkPureSeconds: seconds, networkRuns: runs };
}

function runChild(cfg: ChildConfig): ChildReport {
  // Same node flags as this process (`--import tsx` from npm run bench; none for a bundled copy).
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, new URL(import.meta.url).pathname, '--child', JSON.stringify(cfg)],
    { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  if (r.status !== 0) throw new Error(`benchmark child failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as ChildReport;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Alternating rounds over `ids` (folders of `models`); medians and ratios to the first id. */
async function compareModels(
  models: string,
  ids: string[],
  rounds: number,
  base: Omit<ChildConfig, 'models' | 'id' | 'network'>,
): Promise<Record<string, unknown>> {
  const loadBefore = loadavg()[0];
  const runs = new Map<string, ChildReport[]>(ids.map((id) => [id, []]));
  for (let r = 0; r < rounds; r++) {
    for (const id of ids) runs.get(id)!.push(runChild({ ...base, models, id, network: true }));
  }
  const rows = ids.map((id) => {
    const reports = runs.get(id)!;
    const manifest = JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8'));
    return {
      id,
      fileBytes: statSync(join(models, id, manifest.file ?? 'model.onnx')).size,
      weights: manifest.weights_dtype,
      networkPureSeconds: reports.map((x) => x.networkPureSeconds!),
      totalSeconds: reports.map((x) => x.totalSeconds),
      peakRssMB: reports.map((x) => Math.round(x.peakRssMB)),
      median: {
        networkPureSeconds: median(reports.map((x) => x.networkPureSeconds!)),
        totalSeconds: median(reports.map((x) => x.totalSeconds)),
        peakRssMB: median(reports.map((x) => x.peakRssMB)),
      },
    };
  });
  const first = rows[0].median;
  return {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAverage1m: { before: loadBefore, after: loadavg()[0] } },
    song: { seconds: runs.get(ids[0])![0].seconds },
    ep: runs.get(ids[0])![0].ep,
    segments: runs.get(ids[0])![0].segments,
    rounds,
    models: rows.map((row) => ({
      ...row,
      ratioToFirst: {
        networkPureSeconds: row.median.networkPureSeconds / first.networkPureSeconds,
        totalSeconds: row.median.totalSeconds / first.totalSeconds,
        peakRssMB: row.median.peakRssMB / first.peakRssMB,
      },
    })),
  };
}

async function song(minutes: number): Promise<string> {
  const path = join(OUT, `song-${minutes}min.wav`);
  if (!existsSync(path)) await makeSong(path, { seconds: minutes * 60, sampleRate: 44100, channels: 2, seed: 1 });
  return path;
}

async function main(): Promise<void> {
  const { values: v } = parseArgs({
    options: {
      json: { type: 'boolean' },
      minutes: { type: 'string' },
      rss10: { type: 'boolean' },
      segments: { type: 'string' },
      threads: { type: 'string' },
      ep: { type: 'string' },
      'dsp-threads': { type: 'string' },
      child: { type: 'string' },
      models: { type: 'string' },
      'model-id': { type: 'string' },
      compare: { type: 'string' },
      rounds: { type: 'string' },
    },
  });
  if (v.child) return child(JSON.parse(v.child) as ChildConfig);
  mkdirSync(OUT, { recursive: true });
  const seg = v.segments?.split(',').map(Number);
  const segments = seg ? { segmentFrames: seg[0], overlapFrames: seg[1], batch: seg[2] } : undefined;
  const threads = v.threads !== undefined ? Number(v.threads) : undefined;
  const ep = (v.ep ?? 'cpu') as EpChoice;
  const dspThreads = v['dsp-threads'] !== undefined ? Number(v['dsp-threads']) : undefined;
  // The engine below has no estimate cache: the CLI's plan.
  const plan = threadPlan(availableParallelism(), false, { threads, dspThreads });
  const minutes = Number(v.minutes ?? 3);
  if (v.compare) {
    if (!v.models) throw new Error('--compare needs --models DIR (the folder holding the model folders named)');
    const ids = v.compare.split(',').filter(Boolean);
    const rounds = Number(v.rounds ?? 3);
    const result = await compareModels(v.models, ids, rounds, {
      song: await song(minutes),
      segments,
      threads,
      dspThreads,
      ep,
    });
    rmSync(join(OUT, 'stems'), { recursive: true, force: true });
    console.log(JSON.stringify({ threads: { network: plan.network, dsp: plan.dsp }, ...result }, null, v.json ? 2 : 0));
    return;
  }
  // --models DIR --model-id ID: an already exported full-size network (e.g. on a machine without torch).
  const model = v.models
    ? { root: v.models, id: v['model-id'] ?? 'xumx-bench', dir: join(v.models, v['model-id'] ?? 'xumx-bench') }
    : testModel('xumx-bench', 512);
  const manifest = JSON.parse(readFileSync(join(model.dir, 'manifest.json'), 'utf8'));
  const loadBefore = loadavg()[0];

  const main = runChild({
    song: await song(minutes),
    models: model.root,
    id: model.id,
    segments,
    threads,
    dspThreads,
    network: true,
    ep,
  });
  const network = main.networkPureSeconds!;
  const result: Record<string, unknown> = {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, loadAverage1m: { before: loadBefore, after: loadavg()[0] } },
    model: {
      id: model.id,
      hidden: manifest.hidden_size,
      parameters: manifest.parameters,
      weights: 'random (speed only)',
    },
    song: { seconds: main.seconds, sampleRate: 44100, channels: 2 },
    ep: main.ep,
    epSkipped: main.epSkipped,
    segments: main.segments,
    threads: { network: plan.network, dsp: plan.dsp },
    timings: main.timings,
    totalSeconds: main.totalSeconds,
    realTimeFactor: main.seconds / main.totalSeconds,
    networkPureSeconds: network,
    networkRuns: main.networkRuns,
    overheadRatio: (main.totalSeconds - network) / network,
    peakRssMB: main.peakRssMB,
  };
  if (v.rss10) {
    const long = runChild({
      song: await song(10),
      models: model.root,
      id: model.id,
      segments,
      threads,
      dspThreads,
      network: false,
      ep,
    });
    result.tenMinutes = {
      totalSeconds: long.totalSeconds,
      realTimeFactor: long.seconds / long.totalSeconds,
      peakRssMB: long.peakRssMB,
      timings: long.timings,
    };
  }
  result.targets = { realTimeFactor: '>= 15', overheadRatio: '<= 0.35', peakRssMB10min: '<= 1200' };
  rmSync(join(OUT, 'stems'), { recursive: true, force: true });
  if (v.json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(
      `${main.seconds.toFixed(0)} s song in ${main.totalSeconds.toFixed(1)} s: ${(result.realTimeFactor as number).toFixed(1)}× real time`,
    );
    console.log(
      `network alone ${network.toFixed(1)} s, overhead ${(100 * (result.overheadRatio as number)).toFixed(0)} %, peak RSS ${main.peakRssMB.toFixed(0)} MB`,
    );
    console.log(JSON.stringify(main.timings));
  }
}

await main();
