// End to end in browser mode: a moved separation control is first heard at the playhead (the player switches to
// the new render's block there as soon as it arrives, before the whole song is re-rendered), what it then plays is
// the full re-render's audio; once the whole song is rendered it is "Updated", and the A/B switch goes back to the
// render heard before the change. The page's AudioContext runs at 48 kHz against a 44.1 kHz song, so the blocks
// (at the song's rate) are resampled as they play; their samples are compared at the song's rate.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { separateInPage, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
const CONTEXT_RATE = 48000;
const SONG_RATE = 44100;

/** The parts of a page's AudioBuffer these scripts read. */
type AudioBuffer = {
  length: number;
  sampleRate: number;
  numberOfChannels: number;
  getChannelData(c: number): Float32Array;
};
type Started = { buffer: AudioBuffer | null; offset: number; duration: number | null };
type Probe = { started: Started[]; states: string[]; mark: number; abMark: number };
/** What the page offers these scripts besides the probe (the tests' TypeScript settings know no DOM values). */
type PageAudio = {
  __probe: Probe;
  AudioContext: new () => { sampleRate: number };
  OfflineAudioContext: new (
    channels: number,
    length: number,
    rate: number,
  ) => { decodeAudioData(b: ArrayBuffer): Promise<AudioBuffer> };
  fetch(url: string, init: { cache: 'no-store' }): Promise<{ arrayBuffer(): Promise<ArrayBuffer> }>;
};

/**
 * Runs in the page before the app: every buffer source started is recorded with its buffer, offset and duration,
 * every state the re-render status shows is recorded in order (however briefly it shows), and AudioContexts run at
 * CONTEXT_RATE.
 */
function probe(rate: number) {
  type Source = { buffer: AudioBuffer | null };
  type Ctor = new (o?: object) => object;
  const w = globalThis as unknown as {
    __probe: Probe;
    AudioContext: Ctor;
    AudioBufferSourceNode: {
      prototype: { start(this: Source, when?: number, offset?: number, duration?: number): void };
    };
    MutationObserver: new (f: () => void) => { observe(target: unknown, o: object): void };
    document: { querySelector(q: string): { getAttribute(a: string): string | null } | null };
  };
  const p: Probe = { started: [], states: [], mark: 0, abMark: 0 };
  w.__probe = p;
  const start = w.AudioBufferSourceNode.prototype.start;
  w.AudioBufferSourceNode.prototype.start = function (this: Source, when?: number, offset?: number, duration?: number) {
    p.started.push({ buffer: this.buffer, offset: offset ?? 0, duration: duration ?? null });
    return duration === undefined ? start.call(this, when, offset) : start.call(this, when, offset, duration);
  };
  const Base = w.AudioContext;
  w.AudioContext = class extends Base {
    constructor(o?: object) {
      super({ ...o, sampleRate: rate });
    }
  };
  new w.MutationObserver(() => {
    const state = w.document.querySelector('[data-testid=rerender-status]')?.getAttribute('data-state') ?? '';
    if (p.states.at(-1) !== state) p.states.push(state);
  }).observe(w.document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
}

describe('a control change heard at the playhead', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let song: string;

  before(async () => {
    s = await startStudio();
    song = join(s.dir, 'Preview Song.wav');
    await makeSong(song, { seconds: 20, sampleRate: 44100, channels: 2, seed: 5 });
    await s.page.addInitScript(probe, CONTEXT_RATE);
    await s.page.reload();
  });

  after(async () => {
    await s?.close();
  });

  test('is heard at the playhead first, plays the full re-render there, and A/B goes back to the render before', async () => {
    const job = await separateInPage(s, song);
    await s.page.getByTestId('separation-controls').waitFor({ timeout: 60_000 });
    const sources = job.listen!.sources;
    const before = job.listen!.revision;
    assert.equal(
      await s.page.evaluate(() => new (globalThis as unknown as PageAudio).AudioContext().sampleRate),
      CONTEXT_RATE,
    );

    await s.page.getByRole('button', { name: 'Separation' }).click();
    await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.evaluate(() => {
      const p = (globalThis as unknown as { __probe: Probe }).__probe;
      p.mark = p.started.length;
      p.states = [];
    });
    await s.page.getByLabel('vocals separation strength').fill('1.2');
    await s.page.locator('[data-testid=rerender-status][data-state=updated]').waitFor({ timeout: 120_000 });
    assert.equal(await s.page.getByTestId('rerender-status').textContent(), 'Updated');
    const states = await s.page.evaluate(() => (globalThis as unknown as { __probe: Probe }).__probe.states);
    assert.deepEqual(
      states.filter((x) => x !== ''),
      ['rendering', 'preview', 'updated'],
      'heard at the playhead before the whole song',
    );
    const changed = (await s.service.listJobs())[0].listen!.revision;
    assert.notEqual(changed, before);

    // Which render each block source started since `from` plays: its samples are found in the full re-render as
    // written to the stem files (b), or in the render before the change as the listening route keeps it (a).
    const classify = (from: 'mark' | 'abMark') =>
      s.page.evaluate(
        async ({ jobId, sources, before, rate, from }) => {
          const page = globalThis as unknown as PageAudio;
          const p = page.__probe;
          const decoder = new page.OfflineAudioContext(2, 1, rate);
          // (No named function in here: the page gets this function's source, without the helpers tsx adds for names.)
          const renderB: Float32Array[][] = [];
          for (const source of sources) {
            const res = await page.fetch(`/api/stems/${encodeURIComponent(jobId)}/${source}?r=after`, {
              cache: 'no-store',
            });
            const full = await decoder.decodeAudioData(await res.arrayBuffer());
            renderB.push([full.getChannelData(0), full.getChannelData(1)]);
          }
          const length = renderB[0][0].length;
          const block = 2 * rate;
          // The listening route gives a few seconds a request, as the player asks for them.
          const renderA = sources.map(() => [new Float32Array(length), new Float32Array(length)]);
          for (let at = 0; at < length; at += block) {
            const res = await page.fetch(
              `/api/listen/${encodeURIComponent(jobId)}/${before}?from=${at}&frames=${Math.min(block, length - at)}`,
              { cache: 'no-store' },
            );
            const copy = await decoder.decodeAudioData(await res.arrayBuffer());
            renderA.forEach((channels, i) => channels.forEach((ch, c) => ch.set(copy.getChannelData(2 * i + c), at)));
          }
          return p.started.slice(p[from]).map((x) => {
            const buf = x.buffer!;
            const first = Math.round(x.offset * buf.sampleRate);
            const n = x.duration === null ? buf.length - first : Math.round(x.duration * buf.sampleRate);
            let best = { stem: -1, render: 'neither', frames: n, diff: Infinity, otherDiff: Infinity };
            // Where the buffer starts in the song: a block's start, or (a part the player read from the playhead to
            // its block's end) that far before a block's end.
            const starts: number[] = [];
            for (let at = 0; at < length; at += block)
              starts.push(...(buf.length < block ? [at, at + block - buf.length] : [at]));
            for (let stem = 0; stem < sources.length; stem++) {
              for (const at of starts) {
                const d = [renderA[stem], renderB[stem]].map((full) => {
                  let m = 0;
                  for (let c = 0; c < 2; c++) {
                    const h = buf.getChannelData(c),
                      f = full[c];
                    for (let i = first; i < first + n; i++) m = Math.max(m, Math.abs(h[i] - (f[at + i] ?? 0)));
                  }
                  return m;
                });
                const k = d[0] <= d[1] ? 0 : 1;
                if (d[k] < best.diff)
                  best = { stem, render: k === 0 ? 'a' : 'b', frames: n, diff: d[k], otherDiff: d[1 - k] };
              }
            }
            return best.diff < 1e-3 ? best : { ...best, render: 'neither' };
          });
        },
        { jobId: job.id, sources, before, rate: SONG_RATE, from },
      );

    const played = await classify('mark');
    console.log(
      `[e2e] blocks started after the change: ${JSON.stringify(played.map((m) => [m.stem, m.render, m.frames, m.diff.toExponential(1)]))}`,
    );
    assert.deepEqual(
      played.filter((m) => m.render === 'neither'),
      [],
      'every block played is one of the two renders, exactly',
    );
    for (const [stem, source] of sources.entries()) {
      const mine = played.filter((m) => m.stem === stem);
      const firstNew = mine.findIndex((m) => m.render === 'b');
      assert.ok(firstNew >= 0, `${source}: the re-render is played`);
      assert.ok(
        mine.slice(firstNew).every((m) => m.render === 'b'),
        `${source}: once switched, the old render is not scheduled again`,
      );
      const frames = mine.slice(firstNew).reduce((sum, m) => sum + m.frames, 0);
      assert.ok(frames > SONG_RATE, `${source}: more than a second of the re-render compared (${frames} frames)`);
    }
    const vocals = played.filter((m) => m.stem === sources.indexOf('vocals') && m.render === 'b');
    assert.ok(
      Math.max(...vocals.map((m) => m.otherDiff)) > 1e-2,
      'the change is audible in the vocals, so the comparison above can fail',
    );

    // A/B: A is the render heard before the change.
    if ((await s.page.getByTestId('play').getAttribute('aria-label')) === 'Play')
      await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.evaluate(() => {
      const p = (globalThis as unknown as { __probe: Probe }).__probe;
      p.abMark = p.started.length;
    });
    await s.page.getByRole('button', { name: /B: current/ }).click();
    await s.page.getByRole('button', { name: /A: previous/ }).waitFor();
    // The switch waits for A's block at the playhead: look again until every stem has started one (or give up).
    let back = await classify('abMark');
    for (let i = 0; i < 20 && !sources.every((_, stem) => back.some((m) => m.stem === stem && m.render === 'a')); i++) {
      await s.page.waitForTimeout(500);
      back = await classify('abMark');
    }
    assert.deepEqual(
      back.filter((m) => m.render === 'neither'),
      [],
      'every block played is one of the two renders, exactly',
    );
    for (const [stem, source] of sources.entries()) {
      const mine = back.filter((m) => m.stem === stem);
      const firstA = mine.findIndex((m) => m.render === 'a');
      assert.ok(firstA >= 0, `${source}: A plays the render heard before the change`);
      assert.ok(
        mine.slice(firstA).every((m) => m.render === 'a'),
        `${source}: and only it from then on`,
      );
    }
  });
});
