// Time to first sound, step by step:
//   node --import tsx bench/first-sound.bench.ts [--minutes 3] [--runs 1] [--settled] [--whole] [--engine]
//        [--format wav|flac|mp3]
// Browser mode with Debian's Chromium (as the e2e tests), the FULL-SIZE random-weight bench model (hidden 512, as in
// ui-rerender.bench.ts), a generated 44.1 kHz stereo WAV (or FLAC, or 320 kbps MP3: `--format`), a fresh app per
// run (empty caches):
// drop the song, press play as soon as the editor lets one, and stop the clock when the playhead moves. Every step
// on the way is stamped on one clock (milliseconds since the epoch, from the server's events, the engine's progress
// stages as the job queue forwards them, and the page's own resource timings and hooks), then printed as seconds
// after the drop:
//   uploaded            the page's upload request answered (resource timing)
//   jobQueued / jobRunning   the server took the upload as a job / the queue started it (service events)
//   stage.<s>           first progress event of engine stage s: `decode` starts the song's preparation, `stft` is
//                       the song prepared, `network` the first chunk sent to the network, `wiener` its estimates back
//   firstFinal          the first frames of the listening copy final (service event)
//   eventAtPage         the page told so (the WebSocket message that carried them)
//   playEnabled         the play button enabled (this script's poll, 20 ms)
//   firstBlockAsked / firstBlockArrived   the player's first listening-copy block request (resource timing)
//   audioRunning        the page's AudioContext running (its statechange)
//   firstSound          the context time the first block of the song was scheduled to start at (the page's first
//                       AudioBufferSourceNode.start), on the page's clock: the first sample leaves then (the
//                       device's output latency comes on top; headless Chromium has no device)
//   playheadShown       the editor's position display left 0:00.0 (this script's poll, 20 ms): ~0.1 s of playing
//                       later than firstSound
// Play is pressed as soon as the editor enables it, which it does once the player is open, before any audio is held
// (pressed then, playback starts the moment the first block is held).
// `stages` lists every change of stage in order: `load-model` at the job's start and again wherever the job waits
// for the model to finish opening. The song is dropped as soon as the page is there (the app may still be opening
// the model, as it does when it starts); --settled drops it once the app's engine is ready (createStudio's
// engineWarm), as a user who drops a song some seconds after starting the app finds it. Without --whole the app is
// closed after the first sound (the rest of the separation is not waited for). --engine: the engine alone (no
// browser, no warm-up), timed from `engine.separate` to the first final frames and to the whole song. Prints JSON.
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { ROOT, testModel } from '../test/integration/helpers/models.ts';
import { playheadLeftStart, skipReason, startStudio } from '../test/e2e/harness.ts';
import { createEngine } from '../src-main/engine/index.ts';
import type { StudioEvent } from '../src-main/api/contract.ts';

const { values: v } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    runs: { type: 'string', default: '1' },
    whole: { type: 'boolean', default: false },
    settled: { type: 'boolean', default: false },
    engine: { type: 'boolean', default: false },
    format: { type: 'string', default: 'wav' },
  },
});
if (!['wav', 'flac', 'mp3'].includes(v.format!)) throw new Error(`--format wav, flac or mp3, not ${v.format}`);
const format = v.format as 'wav' | 'flac' | 'mp3';
const minutes = Number(v.minutes);
const model = testModel('xumx-bench', 512);
const out = join(ROOT, 'test-output', 'bench', 'first-sound');
mkdirSync(out, { recursive: true });
const song = join(out, `Bench Song ${minutes}m.${format}`);
await makeSong(song, { seconds: minutes * 60, sampleRate: 44100, channels: 2, seed: 1, format });
const now = () => performance.timeOrigin + performance.now();
const seconds = (ms: number | null | undefined, from: number) => (ms == null ? null : Math.round(ms - from) / 1000);

/**
 * Page-side stamps: the first WebSocket message saying frames are final, and the AudioContext's start. Plain
 * JavaScript, as the page runs it (tsx's helpers do not exist there).
 */
const PAGE_HOOKS = `(() => {
  const stamps = {};
  globalThis.__firstSound = stamps;
  const at = () => performance.timeOrigin + performance.now();
  const Socket = globalThis.WebSocket;
  globalThis.WebSocket = class extends Socket {
    constructor(url, protocols) {
      super(url, protocols);
      this.addEventListener('message', (m) => {
        if (stamps.eventAtPage === undefined && /"readyFrames":[1-9]/.test(String(m.data))) stamps.eventAtPage = at();
      });
    }
  };
  const start = AudioBufferSourceNode.prototype.start;
  AudioBufferSourceNode.prototype.start = function (when = 0, ...rest) {
    if (stamps.firstSound === undefined && this.buffer)
      stamps.firstSound = at() + Math.max(0, when - this.context.currentTime) * 1000;
    return start.call(this, when, ...rest);
  };
  const Context = globalThis.AudioContext;
  globalThis.AudioContext = class extends Context {
    constructor(options) {
      super(options);
      stamps.audioContextCreated ??= at();
      const seen = () => {
        if (this.state === 'running') stamps.audioRunning ??= at();
      };
      this.addEventListener('statechange', seen);
      seen();
    }
  };
})()`;

/** The page's stamps, with the upload's and the first listening-copy block's resource timings. */
const PAGE_STAMPS = `(() => {
  const entries = performance.getEntriesByType('resource');
  const upload = entries.find((e) => e.name.includes('/api/upload'));
  const block = entries.find((e) => e.name.includes('/api/listen/'));
  const t = (ms) => (ms === undefined ? undefined : performance.timeOrigin + ms);
  return {
    ...globalThis.__firstSound,
    uploaded: t(upload?.responseEnd),
    firstBlockAsked: t(block?.startTime),
    firstBlockArrived: t(block?.responseEnd),
  };
})()`;

async function uiRun(): Promise<Record<string, unknown>> {
  const reason = skipReason();
  if (reason) throw new Error(reason);
  const s = await startStudio({ models: false, modelDirs: [model.root] });
  try {
    await s.page.addInitScript({ content: PAGE_HOOKS });
    await s.page.reload();
    const stamps: Record<string, number> = {};
    const stamp = (name: string) => (stamps[name] ??= now());
    const changes: [string, number][] = [];
    s.service.onEvent((e: StudioEvent) => {
      if (e.type !== 'job') return;
      if (e.job.state === 'queued') stamp('jobQueued');
      if (e.job.state === 'running') stamp('jobRunning');
      const stage = e.job.progress?.stage;
      if (stage && e.job.state === 'running') {
        stamp(`stage.${stage}`);
        if (changes.at(-1)?.[0] !== stage) changes.push([stage, now()]);
      }
      if ((e.job.listen?.readyFrames ?? 0) > 0) stamp('firstFinal');
    });
    if (v.settled) await s.engineWarm;
    const load = loadavg()[0];
    const drop = now();
    await s.page.getByTestId('file-input').first().setInputFiles(song);
    const play = s.page.getByTestId('play');
    await play.and(s.page.locator(':enabled')).waitFor({ timeout: 600_000 });
    stamp('playEnabled');
    await play.click();
    await playheadLeftStart(s.page);
    stamp('playheadShown');
    const page = (await s.page.evaluate(PAGE_STAMPS)) as Record<string, number | undefined>;
    let whole: number | null = null;
    if (v.whole) {
      await s.page
        .getByTestId('queue-item')
        .first()
        .and(s.page.locator('[data-state=done]'))
        .waitFor({ timeout: 900_000 });
      whole = now();
    }
    const all: Record<string, number | undefined> = { ...stamps, ...page };
    const order = Object.entries(all)
      .filter((e): e is [string, number] => e[1] !== undefined)
      .sort((a, b) => a[1] - b[1]);
    return {
      loadAtDrop: load,
      timeline: Object.fromEntries(order.map(([k, ms]) => [k, seconds(ms, drop)])),
      secondsUntilFirstSound: seconds(page.firstSound, drop),
      secondsUntilPlayheadShown: seconds(stamps.playheadShown, drop),
      stages: changes.map(([stage, ms]) => [stage, seconds(ms, drop)]),
      wholeSeparationSeconds: seconds(whole, drop),
    };
  } finally {
    await s.close();
  }
}

async function engineRun(k: number): Promise<Record<string, unknown>> {
  const cache = join(out, `cache-${k}`);
  rmSync(cache, { recursive: true, force: true });
  const engine = createEngine({ modelDirs: [model.root], allowTestModels: true, cache: { dir: cache } });
  const stamps: Record<string, number> = {};
  const changes: [string, number][] = [];
  const t0 = now();
  const r = await engine.separate(
    { input: song, outDir: join(out, 'stems') },
    {
      onProgress: (p) => {
        stamps[`stage.${p.stage}`] ??= now();
        if (changes.at(-1)?.[0] !== p.stage) changes.push([p.stage, now()]);
      },
      listen: {
        path: join(out, `copy-${k}.f32`),
        onReady: (l) => {
          if (l.readyFrames > 0) stamps.firstFinal ??= now();
        },
      },
    },
  );
  const total = now();
  await engine.dispose();
  rmSync(join(out, `copy-${k}.f32`), { force: true });
  rmSync(cache, { recursive: true, force: true });
  if (!r.ok) throw new Error(r.error.message);
  const order = Object.entries(stamps).sort((a, b) => a[1] - b[1]);
  return {
    load: loadavg()[0],
    timeline: Object.fromEntries(order.map(([name, ms]) => [name, seconds(ms, t0)])),
    stages: changes.map(([stage, ms]) => [stage, seconds(ms, t0)]),
    totalSeconds: seconds(total, t0),
    timings: r.timings,
  };
}

const runs = [];
for (let k = 0; k < Number(v.runs); k++) runs.push(v.engine ? await engineRun(k) : await uiRun());
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify(
    {
      machine: { cpus: cpus().length, cpu: cpus()[0]?.model },
      model: { id: model.id, hidden: 512, weights: 'random (speed only)' },
      song: {
        seconds: minutes * 60,
        format: `${format.toUpperCase()} 44.1 kHz ${format === 'mp3' ? '320 kbps' : '16-bit'} stereo`,
      },
      mode: v.engine ? 'engine' : v.settled ? 'browser, dropped once the engine is warm' : 'browser',
      runs,
      ...(v.engine
        ? {}
        : { medianSecondsUntilFirstSound: median(runs.map((r) => r.secondsUntilFirstSound as number)) }),
    },
    null,
    2,
  ),
);
