// What live tempo and key cost while playing, in the browser: `node --import tsx bench/live-stretch.bench.ts [--seconds 20]`.
// Browser mode with Debian's Chromium (as the e2e tests), the tiny random-weight test model (separation speed is not
// measured here), a generated one-minute stereo song. After separating it, the script measures for N seconds each:
// paused; playing plain; at 70 %; at 100 % and +3 semitones; at 70 % and −2; back at 100 %/0 ("Original") after
// having stretched; and paused again after that. Every change goes through the Tempo and Key sliders or the
// Original button as a user makes it; each playing state starts from the song's start (a click on the timeline).
//
// CPU is the CPU time (utime + stime from /proc/<pid>/stat, and per thread from /proc/<pid>/task/<tid>/stat)
// of every Chromium process started by this script (descendants of this Node process whose executable is Chromium's),
// per wall second: 1.0 is one core kept busy. It is split by Chromium process type (browser, renderer, audio
// service, gpu, ...) and the busiest threads are named. `audioThreadCores` is the renderer's audio rendering thread
// alone, where the stretchers' worklets run: "AudioOutputDevice" until the page loads an audio worklet, "Realtime
// AudioWorklet" from then on (thread names are cut to 15 characters by Linux). The page's own playhead rate (song seconds per second of
// its clock) is recorded as a sanity check. Prints JSON.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { skipReason, startStudio } from '../test/e2e/harness.ts';

const { values: v } = parseArgs({ options: { seconds: { type: 'string' } } });
const seconds = Number(v.seconds ?? 20);
const reason = skipReason();
if (reason) throw new Error(reason);

const TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const AUDIO_THREADS = ['AudioOutputDevi', 'Realtime AudioW'];
const loadNow = () => loadavg().map((x) => Math.round(x * 100) / 100);

interface ProcStat {
  ppid: number;
  ticks: number;
  comm: string;
}

function readStat(path: string): ProcStat | null {
  try {
    const text = readFileSync(path, 'utf8');
    const close = text.lastIndexOf(')');
    const rest = text.slice(close + 2).split(' ');
    return {
      comm: text.slice(text.indexOf('(') + 1, close),
      ppid: Number(rest[1]),
      ticks: Number(rest[11]) + Number(rest[12]),
    };
  } catch {
    return null; // gone between listing and reading
  }
}

/** Chromium's process type from its command line: the browser itself has no --type. */
function processType(pid: number): string | null {
  let argv: string[];
  try {
    // Chromium rewrites its children's titles, which joins their arguments with spaces.
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0 ]/);
  } catch {
    return null;
  }
  if (!argv[0]?.includes('chromium')) return null;
  const type = argv.find((a) => a.startsWith('--type='))?.slice(7);
  const sub = argv.find((a) => a.startsWith('--utility-sub-type='))?.slice(19);
  return type === 'utility' && sub ? `utility:${sub}` : (type ?? 'browser');
}

/** CPU ticks of every thread of every Chromium process below this one, keyed "pid/tid". */
function sampleChromium(): Map<string, { type: string; thread: string; ticks: number }> {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const st = readStat(`/proc/${name}/stat`);
    if (st) parent.set(Number(name), st.ppid);
  }
  const below = (pid: number) => {
    for (let p = parent.get(pid); p !== undefined && p > 1; p = parent.get(p)) if (p === process.pid) return true;
    return false;
  };
  const out = new Map<string, { type: string; thread: string; ticks: number }>();
  for (const pid of parent.keys()) {
    if (!below(pid)) continue;
    const type = processType(pid);
    if (!type) continue;
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      const st = readStat(`/proc/${pid}/task/${tid}/stat`);
      if (st) out.set(`${pid}/${tid}`, { type, thread: st.comm, ticks: st.ticks });
    }
  }
  return out;
}

type PageDocument = { querySelector(s: string): { textContent: string | null } | null };
/** The transport's position ("1:23.4") and the page's clock, read together. */
const positionNow = () => {
  const g = globalThis as unknown as { document: PageDocument; performance: { now(): number } };
  const [m, sec] = (g.document.querySelector('[data-testid=position]')?.textContent ?? '0:0').split(':');
  return { song: Number(m) * 60 + Number(sec), wall: g.performance.now() / 1000 };
};

const s = await startStudio();
try {
  const page = s.page;
  const chromiumVersion = await s.browser.version();
  const loadBefore = loadNow();
  const song = join(s.dir, 'Live Stretch Song.wav');
  const songSeconds = Math.max(60, seconds + 15);
  await makeSong(song, { seconds: songSeconds, sampleRate: 44100, channels: 2, seed: 3 });
  await page.getByTestId('file-input').first().setInputFiles(song);
  await page.getByTestId('queue-item').first().and(page.locator('[data-state=done]')).waitFor({ timeout: 600_000 });
  await page.getByTestId('play').and(page.locator(':not([disabled])')).waitFor({ timeout: 120_000 });
  const stems = (await s.service.listJobs())[0].result?.sources.length ?? 0;
  await page.waitForTimeout(3000); // waveforms and analysis settle

  const tempo = page.getByLabel('Tempo', { exact: true });
  const key = page.getByLabel('Key', { exact: true });
  const preparing = page.getByTestId('time-pitch-preparing');
  async function fromStart() {
    await page.getByTestId('timeline').click({ position: { x: 5, y: 60 } });
    await page.waitForTimeout(2000); // past the swap's crossfade and the stretchers' start
  }

  async function measure(state: string, setting: { tempo: number; semitones: number }, playing: boolean) {
    const a = sampleChromium();
    const pa = (await page.evaluate(positionNow)) as { song: number; wall: number };
    const t0 = performance.now();
    await page.waitForTimeout(seconds * 1000);
    const b = sampleChromium();
    const pb = (await page.evaluate(positionNow)) as { song: number; wall: number };
    const wall = (performance.now() - t0) / 1000;
    const byType: Record<string, number> = {};
    const byThread: Record<string, number> = {};
    let total = 0;
    let audio = 0;
    for (const [id, end] of b) {
      const used = (end.ticks - (a.get(id)?.ticks ?? 0)) / TICKS / wall;
      total += used;
      byType[end.type] = (byType[end.type] ?? 0) + used;
      const name = `${end.type} ${end.thread}`;
      byThread[name] = (byThread[name] ?? 0) + used;
      if (end.type === 'renderer' && AUDIO_THREADS.includes(end.thread)) audio += used;
    }
    const busiest = Object.entries(byThread)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 5)
      .map(([n, c]) => [n, round3(c)]);
    return {
      state,
      ...setting,
      playing,
      wallSeconds: round3(wall),
      chromiumCores: round3(total),
      audioThreadCores: round3(audio),
      byProcessType: Object.fromEntries(
        Object.entries(byType)
          .sort((x, y) => y[1] - x[1])
          .map(([t, c]) => [t, round3(c)]),
      ),
      busiestThreads: Object.fromEntries(busiest),
      playheadRate: round3((pb.song - pa.song) / (pb.wall - pa.wall)),
    };
  }

  const states = [];
  states.push(await measure('a paused', { tempo: 1, semitones: 0 }, false));
  await page.getByTestId('play').click();
  await page.getByRole('button', { name: 'Pause' }).waitFor();
  await fromStart();
  states.push(await measure('b plain', { tempo: 1, semitones: 0 }, true));
  await tempo.fill('70');
  await preparing.waitFor({ state: 'detached', timeout: 60_000 });
  await fromStart();
  states.push(await measure('c tempo 70 %', { tempo: 0.7, semitones: 0 }, true));
  // The key first, so the way to 100 %/+3 does not pass through the song's own tempo and key.
  await key.fill('3');
  await tempo.fill('100');
  await fromStart();
  states.push(await measure('d key +3', { tempo: 1, semitones: 3 }, true));
  await tempo.fill('70');
  await key.fill('-2');
  await fromStart();
  states.push(await measure('e tempo 70 %, key −2', { tempo: 0.7, semitones: -2 }, true));
  await page.getByRole('button', { name: 'Original' }).click();
  await fromStart();
  states.push(await measure('f plain after stretching', { tempo: 1, semitones: 0 }, true));
  await page.getByRole('button', { name: 'Pause' }).click();
  await page.waitForTimeout(1000);
  states.push(await measure('g paused after stretching', { tempo: 1, semitones: 0 }, false));

  const plain = states[1];
  const ratio = (x: number, y: number) => (y > 0 ? Math.round((x / y) * 100) / 100 : null);
  console.log(
    JSON.stringify(
      {
        measured:
          'CPU seconds per wall second (cores) of all Chromium processes this script started, from /proc utime+stime',
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model },
        chromium: chromiumVersion,
        song: { seconds: songSeconds, stems, sampleRate: 44100 },
        secondsPerState: seconds,
        loadAverage: { before: loadBefore, after: loadNow() },
        states,
        ratioToPlain: Object.fromEntries(
          states.map((st) => [
            st.state,
            {
              chromium: ratio(st.chromiumCores, plain.chromiumCores),
              renderer: ratio(st.byProcessType.renderer ?? 0, plain.byProcessType.renderer ?? 0),
              audioThread: ratio(st.audioThreadCores, plain.audioThreadCores),
            },
          ]),
        ),
      },
      null,
      2,
    ),
  );
} finally {
  await s.close();
}
