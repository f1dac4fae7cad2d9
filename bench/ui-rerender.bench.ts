// What a user waits for: `node --import tsx bench/ui-rerender.bench.ts [--minutes 3]`. Browser mode with Debian's
// Chromium (as the e2e tests), the FULL-SIZE random-weight bench model (hidden 512, as in rerender.bench.ts), a
// generated stereo song: drop it and press play as soon as the editor lets one (secondsUntilFirstSound: from the drop
// to the playhead moving, while the song is still being separated), then, once it is separated, move the vocal
// strength slider five times and time each from the change to the change heard at the playhead (the player switched
// to the new render's block there: secondsUntilHeardAtPlayhead) and to the whole song re-rendered ("Updated":
// secondsUntilHeard), next to the engine's own re-render time for it; `inPage` gives the same two by the page's own
// clock (from the slider's input event to the switch's crossfade starting), without this script's polling; `timeline`:
// per change, the player's switch marks, the new render's block reads and the page's tasks over 50 ms. `memory`:
// the audio the player holds (its blocks and what its stretchers hold) and the page's JS heap while it plays. Prints
// JSON.
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { testModel } from '../test/integration/helpers/models.ts';
import { playheadLeftStart, skipReason, startStudio } from '../test/e2e/harness.ts';

const { values: v } = parseArgs({ options: { minutes: { type: 'string' } } });
const minutes = Number(v.minutes ?? 3);
const reason = skipReason();
if (reason) throw new Error(reason);

const model = testModel('xumx-bench', 512);
const s = await startStudio({ models: false, modelDirs: [model.root] });
try {
  const song = join(s.dir, 'Bench Song.wav');
  await makeSong(song, { seconds: minutes * 60, sampleRate: 44100, channels: 2, seed: 1 });
  const t0 = performance.now();
  await s.page.getByTestId('file-input').first().setInputFiles(song);
  const play = s.page.getByTestId('play');
  await s.page.getByTestId('play').and(s.page.locator(':enabled')).waitFor({ timeout: 600_000 });
  await play.click();
  await playheadLeftStart(s.page);
  const firstSound = (performance.now() - t0) / 1000;
  const playableWhileSeparating = (await s.page.getByTestId('playable').count()) > 0;
  await s.page.getByTestId('queue-item').first().and(s.page.locator('[data-state=done]')).waitFor({ timeout: 600_000 });
  await s.page.getByTestId('separation-controls').waitFor({ timeout: 120_000 });
  const firstSeparation = (performance.now() - t0) / 1000;
  await s.page.getByRole('button', { name: 'Separation' }).click();
  if ((await play.getAttribute('aria-label')) === 'Play') await play.click();

  // The page's tasks over 50 ms, for the timeline: a response that waits for the page to be free shows beside one.
  await s.page.evaluate(() => {
    type Entry = { startTime: number; duration: number };
    const g = globalThis as unknown as {
      __longTasks: Entry[];
      PerformanceObserver: new (cb: (list: { getEntries(): Entry[] }) => void) => {
        observe(o: { type: string }): void;
      };
    };
    g.__longTasks = [];
    new g.PerformanceObserver((list) => g.__longTasks.push(...list.getEntries())).observe({ type: 'longtask' });
  });
  const changes = [];
  const status = s.page.getByTestId('rerender-status');
  for (const [i, position] of ['1.2', '-0.8', '0.5', '-1.4', '0.9'].entries()) {
    // On a slow machine the song can near its end before the last change: back to the start, then let the blocks
    // there come, so every change is made while the song plays on.
    const [m, sec] = ((await s.page.getByTestId('position').textContent()) ?? '0:0').split(':').map(Number);
    if (m * 60 + sec > minutes * 60 - 30) {
      await s.page.getByRole('button', { name: 'Back to start' }).click();
      await s.page.waitForTimeout(2000);
    }
    const start = performance.now();
    const pageStart = await s.page.evaluate(() =>
      (globalThis as unknown as { performance: { now(): number } }).performance.now(),
    );
    const before = (await s.service.listJobs())[0].listen?.revision;
    await s.page.getByLabel('vocals separation strength').fill(position);
    await status.and(s.page.locator('[data-state=preview]')).waitFor({ timeout: 120_000 });
    const atPlayhead = (performance.now() - start) / 1000;
    // The page's own record of the new render's first block: when it was asked for and when it had arrived.
    const firstBlock = await s.page.evaluate(
      ({ pageStart, before }) => {
        type Entry = { name: string; startTime: number; responseEnd: number };
        const entries = (
          globalThis as unknown as { performance: { getEntriesByType(t: string): Entry[] } }
        ).performance.getEntriesByType('resource');
        const mine = entries.filter(
          (e) =>
            e.startTime >= pageStart && /\/api\/listen\/[^/]+\/\d+\?/.test(e.name) && !e.name.includes(`/${before}?`),
        );
        return mine.length
          ? {
              askedAfterSeconds: (mine[0].startTime - pageStart) / 1000,
              arrivedAfterSeconds: (mine[0].responseEnd - pageStart) / 1000,
            }
          : null;
      },
      { pageStart, before },
    );
    // Where the wait went, by the page's clock from just before the change: the player's marks of the switch
    // (player.ts) and every block of the new render asked for, with the route's answer.
    const timeline = await s.page.evaluate(
      ({ pageStart, before }) => {
        type Entry = {
          name: string;
          startTime: number;
          responseEnd: number;
          responseStatus?: number;
          detail?: unknown;
        };
        const perf = (globalThis as unknown as { performance: { getEntriesByType(t: string): Entry[] } }).performance;
        const marks = perf
          .getEntriesByType('mark')
          .filter((e) => e.startTime >= pageStart && e.name.startsWith('player:'))
          .map((e) => ({ at: Math.round(e.startTime - pageStart) / 1000, mark: e.name, ...(e.detail as object) }));
        const reads = perf
          .getEntriesByType('resource')
          .filter(
            (e) =>
              e.startTime >= pageStart && /\/api\/listen\/[^/]+\/\d+\?/.test(e.name) && !e.name.includes(`/${before}?`),
          )
          .map((e) => ({
            at: Math.round(e.startTime - pageStart) / 1000,
            arrived: Math.round(e.responseEnd - pageStart) / 1000,
            status: e.responseStatus,
            from: new URL(e.name).searchParams.get('from'),
          }));
        const busy = (globalThis as unknown as { __longTasks: { startTime: number; duration: number }[] }).__longTasks
          .filter((e) => e.startTime >= pageStart)
          .map((e) => ({
            at: Math.round(e.startTime - pageStart) / 1000,
            longTaskSeconds: Math.round(e.duration) / 1000,
          }));
        return [...marks, ...reads, ...busy].sort((a, b) => a.at - b.at);
      },
      { pageStart, before },
    );
    await s.page.waitForFunction(
      (n) =>
        (
          globalThis as unknown as {
            document: { querySelector(q: string): { getAttribute(a: string): string | null } | null };
          }
        ).document
          .querySelector('[data-testid=separation-controls]')
          ?.getAttribute('data-revision') === String(n),
      i + 1,
      { timeout: 300_000 },
    );
    await s.page.getByTestId('rerender-status').filter({ hasText: 'Updated' }).waitFor({ timeout: 120_000 });
    const heard = (performance.now() - start) / 1000;
    // The page's own clock: from the slider's input to the swap's crossfade starting (what a listener waits for,
    // without this script's polling of the page).
    const inPage = async (name: string) => Number(await status.getAttribute(name)) / 1000;
    const [job] = await s.service.listJobs();
    if (job.result?.estimates !== 'cache') throw new Error('the re-render ran the network');
    changes.push({
      sliderPosition: Number(position),
      secondsUntilHeardAtPlayhead: Math.round(atPlayhead * 1000) / 1000,
      secondsUntilHeard: Math.round(heard * 1000) / 1000,
      inPage: {
        secondsUntilHeardAtPlayhead: await inPage('data-preview-ms'),
        secondsUntilHeard: await inPage('data-updated-ms'),
      },
      firstBlockOfTheNewRender: firstBlock,
      timeline,
      engineTimings: job.result.timings,
    });
  }
  if ((await play.getAttribute('aria-label')) === 'Play') await play.click();
  await s.page.waitForTimeout(2000);
  const cdp = await s.page.context().newCDPSession(s.page);
  await cdp.send('Performance.enable');
  const { metrics } = await cdp.send('Performance.getMetrics');
  const heldBytes = Number(await s.page.getByTestId('tracks').getAttribute('data-held-bytes'));
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    JSON.stringify(
      {
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model },
        model: { id: model.id, hidden: 512, weights: 'random (speed only)' },
        song: { seconds: minutes * 60 },
        secondsUntilFirstSound: Math.round(firstSound * 1000) / 1000,
        playableWhileSeparating,
        firstSeparationSeconds: Math.round(firstSeparation * 1000) / 1000,
        memory: {
          playerHeldMB: mb(heldBytes),
          jsHeapUsedMB: mb(metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? NaN),
          wholeSongDecodedMB: mb(minutes * 60 * 44100 * 2 * 4 * 4),
        },
        changes,
        medianSecondsUntilHeardAtPlayhead: median(changes.map((c) => c.secondsUntilHeardAtPlayhead)),
        medianSecondsUntilHeard: median(changes.map((c) => c.secondsUntilHeard)),
        inPageMedianSecondsUntilHeardAtPlayhead: median(changes.map((c) => c.inPage.secondsUntilHeardAtPlayhead)),
        inPageMedianSecondsUntilHeard: median(changes.map((c) => c.inPage.secondsUntilHeard)),
      },
      null,
      2,
    ),
  );
} finally {
  await s.close();
}
