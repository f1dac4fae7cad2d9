// A long song through the app's API layer, the way the desktop and browser apps use it: createStudio on a fresh data
// folder with the bundled model on the CPU; the song is added to the queue and separated with its listening copy
// written (the player's first block asked for as soon as it is final), 2-second blocks read from the copy at its
// start, middle and end with the waveforms (as the player and the stem editor do), the vocals' strength changed (a
// re-render; the block at the playhead asked for at once and again until it comes), the stems exported as the export
// dialog does by default (every stem, WAV 24-bit), and the song removed. The studio runs in a child process; its RSS
// (the engine worker, network and DSP threads included: threads share the process) is sampled every 0.5 s from
// /proc, and the kernel's high-water mark of it is reset and read per phase, so a short peak is not missed.
// The song is generated at run time: a 10-second pattern of pink noise and tones, repeated, a 16-bit stereo 44.1 kHz
// WAV. Everything goes in one temporary folder (`--dir`, default the system's), removed at the end, also on failure.
// `--cache-cap-mb N` gives the estimate cache a smaller cap than the app's, to see on a short song what it does with
// one larger than its cap (a 2-hour song is, with the app's). `--export` also measures the export dialog's other two
// kinds, each its own phase: the mix of all stems and the DJ stem file.
// `--data-dir` puts the app's data folder (listening copies, estimate cache) in another folder than --dir.
// Run: node --import tsx bench/long-session.bench.ts [--minutes 120] [--dir DIR] [--data-dir DIR] [--cache-cap-mb N]
//        [--export stems,mix,stem-file]  → one JSON object. A 2-hour session needs about 19 GB of free disk in DIR
//        and 10.4 GB in the data folder (its estimates are over the cache's cap: none are written).
import { spawn } from 'node:child_process';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { statfsSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createStudio } from '../src-main/api/create-studio.ts';
import type { ExportResult, JobView } from '../src-main/api/contract.ts';
import type { StudioService } from '../src-main/api/service.ts';
import { mulberry32 } from '../src-main/engine/audio/pcm.ts';
import { DEFAULT_CACHE_BYTES } from '../src-main/engine/cache/estimate-cache.ts';
import { bundledModelsDir } from '../src-main/engine/index.ts';

const self = fileURLToPath(import.meta.url);
const RATE = 44100;
const MODEL_ID = 'xumx-studio-small';
/** What the player asks for at a time (src-renderer/lib/player.ts BLOCK_SECONDS). */
const BLOCK_FRAMES = 2 * RATE;
const MB = 1e6;
/**
 * Disk a minute of song takes at the most, the estimate cache and the exports aside (MB): the song (10.6), its
 * prepared samples (21.2), two renders' listening copies (2 × 43.4) and their stems (2 × 63.5, WAV 24-bit: a
 * re-render's are written beside the old ones until it is done).
 */
const DISK_MB_PER_MINUTE = 245;
/** Of which the listening copies, in the app's data folder (`--data-dir`). */
const LISTEN_MB_PER_MINUTE = 2 * 43.4;
/** The estimate cache's float24 estimates of the four sources (MB per minute of song), up to its cap. */
const CACHE_MB_PER_MINUTE = 139;

const EXPORT_KINDS = ['stems', 'mix', 'stem-file'] as const;
type ExportKind = (typeof EXPORT_KINDS)[number];
/** What each export writes per minute of song (MB); the re-render's stems are gone by then, hence the stems' 0. */
const EXPORT_MB_PER_MINUTE: Record<ExportKind, number> = { stems: 0, mix: 16, 'stem-file': 10 };

interface ChildConfig {
  root: string;
  song: string;
  cacheBytes: number | null;
  exports: ExportKind[];
}

/** Folders the session writes, by what they hold. */
const folders = (root: string) => ({
  song: join(root, 'song'),
  preparedSong: join(root, 'prepared'),
  stems: join(root, 'stems'),
  listeningCopies: join(root, 'data', 'listening'),
  estimateCache: join(root, 'data', 'estimate-cache'),
  exports: join(root, 'export'),
});

function bytesIn(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + bytesIn(join(path, f)), 0);
}

function diskMB(root: string): Record<string, number> {
  return Object.fromEntries(Object.entries(folders(root)).map(([k, p]) => [k, +(bytesIn(p) / MB).toFixed(1)]));
}

/** The kernel's peak RSS of this process since the last reset (VmHWM), in MB; null where /proc cannot tell it. */
function highWaterMB(): number | null {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round((Number(m[1]) * 1024) / MB) : null;
}

function resetHighWater(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const secondsSince = (t0: number) => +((performance.now() - t0) / 1000).toFixed(2);

/** The session, in this (child) process: prints `{"phase":…}` as each phase starts, then `{"report":…}`. */
async function child(cfg: ChildConfig): Promise<void> {
  const dirs = folders(cfg.root);
  const dataDir = join(cfg.root, 'data');
  const phases: Record<string, Record<string, unknown>> = {};
  const disk: Record<string, Record<string, number>> = {};
  const canReset = resetHighWater();
  async function phase<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (canReset) resetHighWater();
    console.log(JSON.stringify({ phase: name }));
    const t0 = performance.now();
    const out = await work();
    phases[name] = { ...phases[name], seconds: secondsSince(t0), peakRssMB: canReset ? highWaterMB() : null };
    return out;
  }

  // The settings a user on this machine would pick: the CPU (no provider is tried), every other setting the app's.
  writeFileSync(join(cfg.root, 'data', 'settings.json'), JSON.stringify({ version: 2, settings: { ep: 'cpu' } }));
  const studio = await phase('start', async () => {
    const s = await createStudio({
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
      dataDir,
      modelDirs: [bundledModelsDir()],
      userModelsDir: join(cfg.root, 'user-models'),
      outputFolder: dirs.stems,
      songFolder: dirs.preparedSong,
      ...(cfg.cacheBytes !== null ? { estimateCacheBytes: cfg.cacheBytes } : {}),
    });
    await s.engineWarm;
    return s;
  });
  const service = studio.service;
  try {
    await session(service, cfg, phase, phases, disk);
  } finally {
    await service.dispose();
  }
  console.log(JSON.stringify({ report: { phases, disk, highWaterMarkPerPhase: canReset } }));
}

type Phase = <T>(name: string, work: () => Promise<T>) => Promise<T>;

async function session(
  service: StudioService,
  cfg: ChildConfig,
  phase: Phase,
  phases: Record<string, Record<string, unknown>>,
  disk: Record<string, Record<string, number>>,
): Promise<void> {
  // What the UI hears: the newest view of each job, and whoever waits for one.
  const views = new Map<string, JobView>();
  const waiting = new Set<(j: JobView) => void>();
  service.onEvent((e) => {
    if (e.type !== 'job') return;
    views.set(e.job.id, e.job);
    for (const w of [...waiting]) w(e.job);
  });
  const until = (id: string, done: (j: JobView) => boolean) =>
    new Promise<JobView>((resolve) => {
      const seen = views.get(id);
      if (seen && done(seen)) return resolve(seen);
      const w = (j: JobView) => {
        if (j.id !== id || !done(j)) return;
        waiting.delete(w);
        resolve(j);
      };
      waiting.add(w);
    });
  /**
   * A block as the player asks for it (the listen route): again while it is not ready, and for the rest of it while
   * fewer frames are final; seconds until all of it came.
   */
  const block = async (id: string, revision: number, from: number, frames = BLOCK_FRAMES) => {
    const t0 = performance.now();
    for (let at = from; at < from + frames;) {
      const a = await service.listen(id, String(revision), String(at), String(from + frames - at));
      if (a.kind === 'audio') at += a.frames;
      else if (a.kind === 'not-ready') await sleep(100);
      else throw new Error(`block at ${at} of render ${revision}: ${a.message}`);
    }
    return secondsSince(t0);
  };

  let job = await phase('separate', async () => {
    const t0 = performance.now();
    const [queued] = await service.open([cfg.song]);
    // The player's first block, asked for once the copy holds it (a few 'job' events a second say how far it is).
    const first = until(queued.id, (j) => (j.listen?.readyFrames ?? 0) >= BLOCK_FRAMES || j.state !== 'running')
      .then((j) => (j.state === 'running' ? block(j.id, 0, 0) : null))
      .then(() => secondsSince(t0));
    const done = await until(queued.id, (j) => j.state !== 'queued' && j.state !== 'running');
    if (done.state !== 'done' || !done.result) throw new Error(`separation ${done.state}: ${done.error?.message}`);
    phases.separate = {
      firstBlockSeconds: await first,
      ranNetwork: done.result.timings.network > 0,
      timings: roundAll(done.result.timings),
      notices: done.result.notices,
    };
    return done;
  });
  disk.afterSeparate = diskMB(cfg.root);
  const result = job.result!;
  const frames = Math.round(result.duration * result.sampleRate);
  const playhead = Math.floor(frames / 2 / BLOCK_FRAMES) * BLOCK_FRAMES;

  await phase('listen', async () => {
    const t0 = performance.now();
    const peaks = await service.listenPeaks(job.id, 0, 2000);
    if (!peaks || peaks.readyFrames !== frames) throw new Error('no waveforms of the whole song from its copy');
    const peaksSeconds = secondsSince(t0);
    const blockSeconds = {
      start: await block(job.id, 0, 0),
      middle: await block(job.id, 0, playhead),
      end: await block(job.id, 0, frames - BLOCK_FRAMES),
    };
    phases.listen = { peaksSeconds, blockSeconds };
  });

  await phase('rerender', async () => {
    const sc = await service.getSongControls(job.id);
    const before = sc.controls.strength?.vocals ?? 1;
    const vocals = +(before / 2).toFixed(3);
    const controls = { ...sc.controls, strength: { ...sc.controls.strength, vocals } };
    const t0 = performance.now();
    const rerender = service.rerender(job.id, { ...sc, controls, presetId: null });
    let finished = false;
    void rerender.then(() => (finished = true)).catch(() => {});
    // The player hears of the new render from the job's view and asks for the block at its playhead.
    const heard = await until(job.id, (j) => j.rerender?.listen != null);
    const revision = heard.rerender!.listen!.revision;
    const atPlayhead = await block(job.id, revision, playhead).then(() => secondsSince(t0));
    const answeredWhileRendering = !finished;
    job = await rerender;
    const seconds = secondsSince(t0);
    phases.rerender = {
      control: `vocals strength ${before} → ${vocals}`,
      estimates: job.result!.estimates,
      ranNetwork: job.result!.estimates !== 'cache',
      rerenderSeconds: seconds,
      playheadBlockSeconds: atPlayhead,
      playheadBlockBeforeRerenderDone: answeredWhileRendering,
      playheadBlockAfterSeconds: await block(job.id, revision, playhead),
      timings: roundAll(job.result!.timings),
      notices: job.result!.notices,
    };
  });
  disk.afterRerender = diskMB(cfg.root);

  // As the export dialog asks by default: every stem (or the mix of all at unity gain, or the DJ stem file), the whole
  // song at its own tempo and key, WAV 24-bit (the stem file: AAC).
  const folder = folders(cfg.root).exports;
  const exports: Record<ExportKind, () => Promise<ExportResult>> = {
    stems: () =>
      service.exportStems({ jobId: job.id, sources: job.result!.sources, folder, format: 'wav', bitDepth: 24 }),
    mix: () =>
      service.exportMix({
        jobId: job.id,
        gains: Object.fromEntries(job.result!.sources.map((s) => [s, 1])),
        folder,
        name: 'mix',
        format: 'wav',
        bitDepth: 24,
      }),
    'stem-file': () => service.exportStemFile({ jobId: job.id, folder, codec: 'aac', bitDepth: 24 }),
  };
  for (const kind of cfg.exports) {
    const name = kind === 'stems' ? 'export' : `export-${kind}`;
    await phase(name, async () => {
      phases[name] = { files: (await exports[kind]()).files.length };
    });
  }
  disk.afterExport = diskMB(cfg.root);

  await phase('remove', async () => {
    await service.remove(job.id);
    // The engine lets go of the prepared song once the jobs sent before are done; the copies go at once.
    for (let i = 0; i < 50 && bytesIn(folders(cfg.root).preparedSong) > 0; i++) await sleep(100);
  });
  disk.afterRemove = diskMB(cfg.root);
}

function roundAll(t: object): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, x]) => [k, +(x as number).toFixed(2)]));
}

/**
 * A 16-bit stereo WAV of `frames` frames at 44.1 kHz: a 10-second pattern (pink noise, a bass and a wavering lead
 * tone, a click every half second), repeated. The channels differ (their own noise, the lead panned left).
 */
function writeSong(path: string, frames: number): void {
  const pattern = 10 * RATE;
  const pcm = Buffer.alloc(pattern * 4);
  const noise = [mulberry32(1), mulberry32(2)];
  const pink = [new Float64Array(7), new Float64Array(7)];
  for (let i = 0; i < pattern; i++) {
    const t = i / RATE;
    const bass = 0.15 * Math.sin(2 * Math.PI * 55 * t);
    const lead = 0.12 * Math.sin(2 * Math.PI * 440 * t + 3 * Math.sin(2 * Math.PI * 5 * t));
    const click = i % (RATE / 2) < 400 ? 0.3 * Math.exp(-(i % (RATE / 2)) / 80) : 0;
    for (let c = 0; c < 2; c++) {
      // Paul Kellet's pink noise filter over white noise.
      const w = noise[c]() * 2 - 1;
      const b = pink[c];
      b[0] = 0.99886 * b[0] + w * 0.0555179;
      b[1] = 0.99332 * b[1] + w * 0.0750759;
      b[2] = 0.969 * b[2] + w * 0.153852;
      b[3] = 0.8665 * b[3] + w * 0.3104856;
      b[4] = 0.55 * b[4] + w * 0.5329522;
      b[5] = -0.7616 * b[5] - w * 0.016898;
      const p = (b[0] + b[1] + b[2] + b[3] + b[4] + b[5] + b[6] + w * 0.5362) * 0.02;
      b[6] = w * 0.115926;
      const x = p + bass + lead * (c === 0 ? 1 : 0.4) + click;
      pcm.writeInt16LE(Math.round(Math.max(-1, Math.min(1, x)) * 32767), (i * 2 + c) * 2);
    }
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + frames * 4, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(2, 22);
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 4, 28);
  header.writeUInt16LE(4, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(frames * 4, 40);
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, header);
    for (let at = 0; at < frames; at += pattern) writeSync(fd, pcm, 0, Math.min(pattern, frames - at) * 4);
  } finally {
    closeSync(fd);
  }
}

/** RSS of process `pid` now (VmRSS), in MB; null once it is gone. */
function rssMB(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round((Number(m[1]) * 1024) / MB) : null;
  } catch {
    return null;
  }
}

/** Runs the session in a child process, sampling its RSS every 0.5 s by the phase it says it is in. */
async function runChild(
  cfg: ChildConfig,
): Promise<{ report: Record<string, unknown>; sampled: Record<string, number> }> {
  const proc = spawn(
    'nice',
    ['-n', '10', process.execPath, ...process.execArgv, self, '--child', JSON.stringify(cfg)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  const stop = () => proc.kill('SIGTERM');
  process.once('SIGINT', stop).once('SIGTERM', stop);
  let phase = 'launch';
  const sampled: Record<string, number> = {};
  const sample = () => {
    const mb = proc.pid !== undefined ? rssMB(proc.pid) : null;
    if (mb !== null) sampled[phase] = Math.max(sampled[phase] ?? 0, mb);
  };
  const timer = setInterval(sample, 500);
  let report: Record<string, unknown> | null = null;
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    const msg = JSON.parse(line) as { phase?: string; report?: Record<string, unknown> };
    if (msg.phase) {
      sample();
      phase = msg.phase;
    }
    if (msg.report) report = msg.report;
  });
  const code = await new Promise<number | null>((resolve) => proc.on('close', resolve));
  clearInterval(timer);
  process.off('SIGINT', stop).off('SIGTERM', stop);
  if (code !== 0 || !report) throw new Error(`the session failed (exit ${code}) in phase ${phase}:\n${stderr}`);
  return { report, sampled };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '120' },
      dir: { type: 'string', default: tmpdir() },
      'data-dir': { type: 'string' },
      'cache-cap-mb': { type: 'string' },
      export: { type: 'string', default: 'stems' },
      child: { type: 'string' },
    },
  });
  if (values.child) return child(JSON.parse(values.child) as ChildConfig);
  const minutes = Number(values.minutes);
  if (!(minutes > 0)) throw new Error('--minutes: a number of minutes above 0');
  const exports = values.export.split(',') as ExportKind[];
  const unknown = exports.find((k) => !EXPORT_KINDS.includes(k));
  if (unknown !== undefined) throw new Error(`--export: ${unknown}? (${EXPORT_KINDS.join(', ')}, comma-separated)`);
  const capMB = values['cache-cap-mb'];
  const cacheBytes = capMB !== undefined ? Math.round(Number(capMB) * MB) : null;
  const cap = cacheBytes ?? DEFAULT_CACHE_BYTES;
  const perMinute = DISK_MB_PER_MINUTE + exports.reduce((n, k) => n + EXPORT_MB_PER_MINUTE[k], 0);
  // A song whose estimates would not fit under the cap writes none (its chunk plan tells before the network runs).
  const cacheMB = minutes * CACHE_MB_PER_MINUTE <= cap / MB ? minutes * CACHE_MB_PER_MINUTE : 0;
  const dataMB = minutes * LISTEN_MB_PER_MINUTE + cacheMB;
  const needs = new Map<string, number>();
  const dataDir = values['data-dir'] ?? values.dir;
  needs.set(values.dir, minutes * (perMinute - LISTEN_MB_PER_MINUTE));
  needs.set(dataDir, (needs.get(dataDir) ?? 0) + dataMB);
  for (const [dir, needMB] of needs) {
    const { bavail, bsize } = statfsSync(dir);
    const freeMB = (bavail * bsize) / MB;
    if (freeMB < needMB + 500)
      throw new Error(
        `${dir}: ${Math.round(freeMB)} MB free, a ${minutes}-minute session needs about ${Math.round(needMB)} MB ` +
          'there and 500 to spare (--dir and --data-dir name other folders)',
      );
  }

  const root = mkdtempSync(join(values.dir, 'xumx-long-session-'));
  const data = values['data-dir'] === undefined ? null : mkdtempSync(join(dataDir, 'xumx-long-session-data-'));
  const stop = () => {
    rmSync(root, { recursive: true, force: true });
    if (data) rmSync(data, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const dirs = folders(root);
    mkdirSync(dirs.song, { recursive: true });
    if (data) symlinkSync(data, join(root, 'data'));
    else mkdirSync(join(root, 'data'));
    const song = join(dirs.song, `song-${minutes}min.wav`);
    const t0 = performance.now();
    writeSong(song, Math.round(minutes * 60 * RATE));
    const generateSeconds = secondsSince(t0);
    const loadBefore = loadavg();
    const { report, sampled } = await runChild({ root, song, cacheBytes, exports });
    const loadAfter = loadavg();
    const phases = report.phases as Record<string, Record<string, unknown>>;
    for (const [name, p] of Object.entries(phases)) p.sampledPeakRssMB = sampled[name] ?? null;
    const cacheFiles = (report.disk as Record<string, Record<string, number>>).afterSeparate;
    const first = phases.separate;
    const statement = (first.notices as string[]).find((n) => /estimates not kept|cache not written/.test(n)) ?? null;
    console.log(
      JSON.stringify(
        {
          song: { minutes, wavMB: +(bytesIn(song) / MB).toFixed(1), generateSeconds },
          model: MODEL_ID,
          ep: 'cpu',
          machine: {
            cpus: cpus().length,
            loadAverage: { before: loadBefore.map((x) => +x.toFixed(2)), after: loadAfter.map((x) => +x.toFixed(2)) },
          },
          peakRssMB: Math.max(...Object.values(phases).map((p) => Number(p.peakRssMB ?? p.sampledPeakRssMB ?? 0))),
          phases,
          estimateCache: {
            capMB: Math.round(cap / MB),
            keptMB: cacheFiles.estimateCache,
            statement,
            rerenderRanNetwork: phases.rerender.ranNetwork,
            rerenderSeconds: phases.rerender.rerenderSeconds,
          },
          diskMB: report.disk,
          highWaterMarkPerPhase: report.highWaterMarkPerPhase,
        },
        null,
        2,
      ),
    );
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    rmSync(root, { recursive: true, force: true });
    if (data) rmSync(data, { recursive: true, force: true });
  }
}

await main();
