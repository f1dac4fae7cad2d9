// End to end in browser mode: a moved separation control is first heard at the playhead (a part rendered from the
// estimate cache, spliced into the heard stems), and what the player then holds there is the full re-render's audio;
// once the whole song arrives it is "Updated" and the A/B switch still goes back to what was heard before the change.
// The page's AudioContext runs at 48 kHz against a 44.1 kHz song, so the part is resampled as the browser decodes it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { separateInPage, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
const CONTEXT_RATE = 48000;

/** The parts of a page's AudioBuffer these scripts read. */
type AudioBuffer = { length: number; sampleRate: number; getChannelData(c: number): Float32Array };
type Started = { buffer: AudioBuffer | null; offset: number };
type Probe = { started: Started[]; states: string[]; mark: number; pre: (AudioBuffer | null)[] };
/** What the page offers these scripts besides the probe (the tests' TypeScript settings know no DOM values). */
type PageAudio = {
  __probe: Probe;
  AudioContext: new () => { sampleRate: number };
  OfflineAudioContext: new (channels: number, length: number, rate: number) => { decodeAudioData(b: ArrayBuffer): Promise<AudioBuffer> };
  fetch(url: string, init: { cache: 'no-store' }): Promise<{ arrayBuffer(): Promise<ArrayBuffer> }>;
};

/**
 * Runs in the page before the app: every buffer source started is recorded with its song offset, every state the
 * re-render status shows is recorded in order (however briefly it shows), and AudioContexts run at CONTEXT_RATE.
 */
function probe(rate: number) {
  type Source = { buffer: AudioBuffer | null };
  type Ctor = new (o?: object) => object;
  const w = globalThis as unknown as {
    __probe: Probe; AudioContext: Ctor;
    AudioBufferSourceNode: { prototype: { start(this: Source, when?: number, offset?: number, duration?: number): void } };
    MutationObserver: new (f: () => void) => { observe(target: unknown, o: object): void };
    document: { querySelector(q: string): { getAttribute(a: string): string | null } | null };
  };
  const p: Probe = { started: [], states: [], mark: 0, pre: [] };
  w.__probe = p;
  const start = w.AudioBufferSourceNode.prototype.start;
  w.AudioBufferSourceNode.prototype.start = function (this: Source, when?: number, offset?: number, duration?: number) {
    p.started.push({ buffer: this.buffer, offset: offset ?? 0 });
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
    await makeSong(song, { seconds: 8, sampleRate: 44100, channels: 2, seed: 5 });
    await s.page.addInitScript(probe, CONTEXT_RATE);
    await s.page.reload();
  });

  after(async () => {
    await s?.close();
  });

  test('is heard at the playhead first, holds the full re-render there, and A/B still compares with the render before', async () => {
    const job = await separateInPage(s, song);
    await s.page.getByTestId('separation-controls').waitFor({ timeout: 60_000 });
    const sources = job.result!.sources;
    assert.equal(await s.page.evaluate(() => new (globalThis as unknown as PageAudio).AudioContext().sampleRate), CONTEXT_RATE);

    await s.page.getByRole('button', { name: 'Separation' }).click();
    await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.evaluate(() => {
      const p = (globalThis as unknown as { __probe: Probe }).__probe;
      p.pre = p.started.slice(-4).map((x) => x.buffer);
      p.mark = p.started.length;
      p.states = [];
    });
    await s.page.getByLabel('vocals separation strength').fill('1.2');
    await s.page.locator('[data-testid=rerender-status][data-state=updated]').waitFor({ timeout: 120_000 });
    assert.equal(await s.page.getByTestId('rerender-status').textContent(), 'Updated');
    const states = await s.page.evaluate(() => (globalThis as unknown as { __probe: Probe }).__probe.states);
    assert.deepEqual(states.filter((x) => x !== ''), ['rendering', 'preview', 'updated'], 'heard at the playhead before the whole song');

    // The first swap after the change is the preview's: its buffers, in the model's order, from the playhead then.
    const compared = await s.page.evaluate(async ({ jobId, sources, rate }) => {
      const page = globalThis as unknown as PageAudio;
      const p = page.__probe;
      const spliced = p.started.slice(p.mark, p.mark + sources.length);
      const decoder = new page.OfflineAudioContext(2, 1, rate);
      const out = [];
      for (const [k, source] of sources.entries()) {
        const res = await page.fetch(`/api/stems/${encodeURIComponent(jobId)}/${source}?r=1`, { cache: 'no-store' });
        const full = await decoder.decodeAudioData(await res.arrayBuffer());
        const held = spliced[k].buffer!;
        const from = Math.round(spliced[k].offset * rate);
        const to = Math.min(full.length, held.length, from + Math.round(1.5 * rate));
        let heldDiff = 0, beforeDiff = 0;
        for (let c = 0; c < 2; c++) {
          const f = full.getChannelData(c), h = held.getChannelData(c), b = p.pre[k]!.getChannelData(c);
          for (let i = from; i < to; i++) {
            heldDiff = Math.max(heldDiff, Math.abs(h[i] - f[i]));
            beforeDiff = Math.max(beforeDiff, Math.abs(b[i] - f[i]));
          }
        }
        out.push({ source, frames: to - from, heldDiff, beforeDiff, rate: held.sampleRate });
      }
      return out;
    }, { jobId: job.id, sources, rate: CONTEXT_RATE });
    console.log(`[e2e] held vs full re-render around the playhead: ${JSON.stringify(compared)}`);
    for (const c of compared) {
      assert.equal(c.rate, CONTEXT_RATE);
      assert.ok(c.frames > CONTEXT_RATE, `${c.source}: more than a second compared`);
      assert.ok(c.heldDiff < 1e-3, `${c.source}: the audio held at the playhead is the full re-render's (max difference ${c.heldDiff})`);
    }
    const vocals = compared.find((c) => c.source === 'vocals')!;
    assert.ok(vocals.beforeDiff > 1e-2, `the change is audible in the vocals (${vocals.beforeDiff}), so the comparison above can fail`);

    // A/B: A is what was heard before the change, not the spliced seconds.
    if ((await s.page.getByTestId('play').getAttribute('aria-label')) === 'Play') await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.getByRole('button', { name: /B: current/ }).click();
    await s.page.getByRole('button', { name: /A: previous/ }).waitFor();
    const same = await s.page.evaluate((n) => {
      const p = (globalThis as unknown as { __probe: Probe }).__probe;
      return p.started.slice(-n).map((x, k) => x.buffer === p.pre[k]);
    }, sources.length);
    assert.deepEqual(same, sources.map(() => true), 'A plays the buffers heard before the change');
  });
});
