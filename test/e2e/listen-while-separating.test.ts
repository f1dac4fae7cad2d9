// End to end in browser mode: a song can be played while it is still being separated. The editor opens with the
// first final seconds, says how far the playable part reaches, and the player never plays a frame that was not final
// when it was read: every block it starts lies within what the job said was ready by then.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { audioReady, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
type PageDocument = {
  querySelector(s: string): { getAttribute(n: string): string | null; textContent: string | null } | null;
};
/** The queue item's state and how far the lanes say the song can be played, read together in the page. */
const stateAndReady = () => {
  const doc = (globalThis as unknown as { document: PageDocument }).document;
  return {
    state: doc.querySelector('[data-testid=queue-item]')?.getAttribute('data-state') ?? null,
    ready: Number(doc.querySelector('[data-testid=not-ready]')?.getAttribute('data-ready') ?? NaN),
    position: doc.querySelector('[data-testid=position]')?.textContent ?? null,
  };
};

describe('listening while a song is separated', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let song: string;

  before(async () => {
    s = await startStudio();
    song = join(s.dir, 'Long Song.wav');
    await makeSong(song, { seconds: 240, sampleRate: 44100, channels: 2, seed: 3 });
  });

  after(async () => {
    await s?.close();
  });

  test('opens the editor and plays the final part before the separation ends, never past it', async () => {
    await s.page.getByTestId('file-input').first().setInputFiles(song);
    await audioReady(s.page, 180_000);
    const opened = (await s.page.evaluate(stateAndReady)) as ReturnType<typeof stateAndReady>;
    assert.equal(opened.state, 'running', 'the editor is open while the song is separated');
    assert.ok(opened.ready > 0 && opened.ready < 240, `the lanes say how far it can be played: ${opened.ready} s`);
    await s.page.getByTestId('playable').waitFor();
    await s.page.getByTestId('play').click();
    await s.page.waitForFunction(
      () =>
        (globalThis as unknown as { document: PageDocument }).document.querySelector('[data-testid=position]')
          ?.textContent !== '0:00.0',
      undefined,
      { timeout: 30_000 },
    );
    // Whatever the page reads of the copy being written must be final: the position never passes what is ready.
    for (let i = 0; i < 10; i++) {
      const now = (await s.page.evaluate(stateAndReady)) as ReturnType<typeof stateAndReady>;
      if (now.state !== 'running') break;
      const [m, sec] = (now.position ?? '0:0').split(':');
      assert.ok(Number(m) * 60 + Number(sec) <= now.ready + 0.1, `played to ${now.position} with ${now.ready} s ready`);
      await s.page.waitForTimeout(300);
    }
    await s.page
      .getByTestId('queue-item')
      .first()
      .and(s.page.locator('[data-state=done]'))
      .waitFor({ timeout: 300_000 });
    await s.page.getByTestId('not-ready').waitFor({ state: 'detached', timeout: 30_000 });
    await s.page.getByTestId('waveform').first().waitFor({ timeout: 30_000 });
  });
});
