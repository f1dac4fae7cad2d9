// End to end in browser mode: the waveform lanes of a song being separated fill in as its frames become final, from
// the peaks the engine records in the listening copy, never past what is final, and cover the whole song once done;
// after a re-render they are drawn from the new render's copy. No stem file is decoded for them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
const SECONDS = 240;
type PageDocument = {
  querySelector(s: string): { getAttribute(n: string): string | null } | null;
  querySelectorAll(s: string): ArrayLike<{ getAttribute(n: string): string | null }>;
};
/** The queue item's state, how far the song can be played, and per lane how loud and how far it is drawn. */
const lanes = () => {
  const doc = (globalThis as unknown as { document: PageDocument }).document;
  return {
    state: doc.querySelector('[data-testid=queue-item]')?.getAttribute('data-state') ?? null,
    ready: Number(doc.querySelector('[data-testid=not-ready]')?.getAttribute('data-ready') ?? NaN),
    waves: Array.from(doc.querySelectorAll('[data-testid=waveform]'), (w) => ({
      source: w.getAttribute('data-source'),
      loudest: Number(w.getAttribute('data-loudest')),
      drawnTo: Number(w.getAttribute('data-drawn-to')),
    })),
  };
};
type Lanes = ReturnType<typeof lanes>;

describe('waveform lanes while a song is separated', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let song: string;
  /** The page's calls for waveforms: from a render's copy (listenPeaks) or from a stem file (peaks). */
  const calls: { method: string; args: unknown[]; state: string | null }[] = [];
  let state: string | null = null;

  before(async () => {
    s = await startStudio();
    song = join(s.dir, 'Long Song.wav');
    await makeSong(song, { seconds: SECONDS, sampleRate: 44100, channels: 2, seed: 3 });
    s.service.onEvent((e) => {
      if (e.type === 'job') state = e.job.state;
    });
    s.page.on('request', (r) => {
      const call = /^\/api\/call\/(peaks|listenPeaks)$/.exec(new URL(r.url()).pathname);
      if (call) calls.push({ method: call[1], args: JSON.parse(r.postData() ?? '[]') as unknown[], state });
    });
  });

  after(async () => {
    await s?.close();
  });

  test('draws the final part of every lane before the separation ends, and the whole song once it is done', async () => {
    await s.page.getByTestId('file-input').first().setInputFiles(song);
    // Either the lanes show sound first, or the song is done first (then they did not fill in as it went).
    await s.page.waitForFunction(
      () => {
        const doc = (globalThis as unknown as { document: PageDocument }).document;
        const state = doc.querySelector('[data-testid=queue-item]')?.getAttribute('data-state');
        const loud = Array.from(doc.querySelectorAll('[data-testid=waveform]')).some(
          (w) => Number(w.getAttribute('data-loudest')) > 0,
        );
        return state === 'done' || state === 'failed' || (state === 'running' && loud);
      },
      undefined,
      { timeout: 300_000, polling: 100 },
    );
    const early = (await s.page.evaluate(lanes)) as Lanes;
    assert.equal(early.state, 'running', 'the lanes show sound while the song is separated');
    assert.equal(early.waves.length, 4);
    for (const w of early.waves) {
      // The lanes are drawn in whole buckets of a few milliseconds; the ready part is read a moment later.
      assert.ok(w.drawnTo < SECONDS, `${w.source}: drawn to ${w.drawnTo} s of ${SECONDS} while separating`);
      assert.ok(w.drawnTo <= early.ready + 0.1, `${w.source}: drawn to ${w.drawnTo} s with ${early.ready} s final`);
    }
    await s.page
      .getByTestId('queue-item')
      .first()
      .and(s.page.locator('[data-state=done]'))
      .waitFor({ timeout: 300_000 });
    await s.page.getByTestId('not-ready').waitFor({ state: 'detached', timeout: 30_000 });
    await s.page.waitForFunction(
      (seconds) =>
        Array.from(
          (globalThis as unknown as { document: PageDocument }).document.querySelectorAll('[data-testid=waveform]'),
        ).every((w) => Number(w.getAttribute('data-drawn-to')) > seconds - 1),
      SECONDS,
      { timeout: 30_000 },
    );
    const done = (await s.page.evaluate(lanes)) as Lanes;
    for (const w of done.waves) assert.ok(w.loudest > 0, `${w.source}: drawn with sound`);
    const whileRunning = calls.filter((c) => c.method === 'listenPeaks' && c.state === 'running');
    assert.ok(whileRunning.length >= 2, `the lanes were redrawn as the song separated (${whileRunning.length} times)`);
    assert.deepEqual(
      calls.filter((c) => c.method === 'peaks'),
      [],
      'no stem file is decoded for the lanes',
    );
  });

  test("redraws the lanes from a re-render's own copy once it is done", async () => {
    await s.page.locator('[data-testid=waveform][data-source=vocals]').waitFor({ timeout: 30_000 });
    const before = ((await s.page.evaluate(lanes)) as Lanes).waves.find((w) => w.source === 'vocals')!;
    const from = calls.length;
    await s.page.getByRole('button', { name: 'Separation', exact: true }).click();
    await s.page.getByLabel('vocals separation strength').fill('-2');
    await s.page.waitForFunction(
      () =>
        (globalThis as unknown as { document: PageDocument }).document
          .querySelector('[data-testid=separation-controls]')
          ?.getAttribute('data-revision') === '1',
      undefined,
      { timeout: 300_000 },
    );
    // The re-render's waveforms are asked for once it is done, from its copy or from its stem files.
    for (let i = 0; !calls.slice(from).some((c) => c.args[1] === 1 || c.method === 'peaks'); i++) {
      assert.ok(i < 300, "the re-render's waveforms are asked for");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(
      calls.slice(from).filter((c) => c.method === 'peaks'),
      [],
      'no stem file is decoded for the lanes',
    );
    await s.page.waitForFunction(
      (was) =>
        Array.from(
          (globalThis as unknown as { document: PageDocument }).document.querySelectorAll(
            '[data-testid=waveform][data-source=vocals]',
          ),
        ).some((w) => Number(w.getAttribute('data-loudest')) !== was),
      before.loudest,
      { timeout: 30_000 },
    );
  });
});
