// Practising at another tempo and key in browser mode: the stretcher runs in the page's audio worklet under the
// app's CSP, the playhead follows the tempo, the setting is kept with the song, and export writes what is heard.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import type { JobView } from '../../src-main/api/contract.ts';
import { makeSong } from '../fixtures/audio.ts';
import { audioReady, screenshot, separateInPage, skipReason, startStudio, type Studio } from './harness.ts';
import { shiftedKeyName } from '../../src-main/engine/analysis/labels.ts';
import { masterLevelAbove, type PageDocument } from './page-checks.ts';

const reason = skipReason();
/** The transport's position and the page's clock, read together. */
const positionNow = () => {
  const [m, sec] = (
    (globalThis as unknown as { document: PageDocument }).document.querySelector('[data-testid=position]')
      ?.textContent ?? '0:0'
  ).split(':');
  return {
    song: Number(m) * 60 + Number(sec),
    wall: (globalThis as unknown as { performance: { now(): number } }).performance.now() / 1000,
  };
};

describe('tempo and key while practising', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let job: JobView;
  const errors: string[] = [];

  before(async () => {
    s = await startStudio();
    s.page.on('pageerror', (e) => errors.push(e.message));
    const song = join(s.dir, 'Practice Song.wav');
    await makeSong(song, { seconds: 8, sampleRate: 44100, channels: 2, seed: 11 });
    job = await separateInPage(s, song);
    await audioReady(s.page);
  });

  after(async () => {
    await s?.close();
  });

  /** Song seconds the playhead moves per second of the page's clock, over about two seconds of playback. */
  async function playheadRate(): Promise<number> {
    const a = (await s.page.evaluate(positionNow)) as { song: number; wall: number };
    await s.page.waitForTimeout(2000);
    const b = (await s.page.evaluate(positionNow)) as { song: number; wall: number };
    return (b.song - a.song) / (b.wall - a.wall);
  }

  test('slows the playing song to 50 % and the playhead follows, with sound and no error', async () => {
    await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.getByLabel('Tempo', { exact: true }).fill('50');
    assert.equal(await s.page.getByTestId('tempo-value').textContent(), '50 %');
    await s.page.getByTestId('time-pitch-preparing').waitFor({ state: 'detached', timeout: 30_000 });
    const rate = await playheadRate();
    assert.ok(rate > 0.35 && rate < 0.65, `the playhead moves ${rate.toFixed(2)} song seconds per second at 50 %`);
    // By now the stretchers play (the plain buffers have faded out): what is heard comes from them.
    await s.page.waitForFunction(masterLevelAbove, -50, { timeout: 10_000 });
    await s.page.getByLabel('Key', { exact: true }).fill('-2');
    assert.equal(await s.page.getByTestId('semitones-value').textContent(), '−2 st');
    // What is heard, from the song's measured key and tempo: two semitones down, half the beats per minute.
    const analysis = job.result?.analysis;
    assert.ok(analysis, 'an 8-second song is analysed');
    assert.equal(
      await s.page.getByTestId('time-pitch-heard').textContent(),
      [shiftedKeyName(analysis, -2), `${Math.round(analysis.bpm * 0.5)} BPM`].filter(Boolean).join(' · '),
    );
    await s.page.waitForFunction(masterLevelAbove, -50, { timeout: 10_000 });
    await screenshot(s.page, 'time-pitch-playing');
    await s.page.getByTestId('timeline').click({ position: { x: 5, y: 60 } });
    const after = (await s.page.evaluate(positionNow)) as { song: number };
    assert.ok(after.song < 1, `the playhead went back to the start while stretched: ${after.song}`);
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.waitForFunction(masterLevelAbove, -50, { timeout: 10_000 });
    await s.page.getByRole('button', { name: 'Pause' }).click();
    assert.deepEqual(errors, []);
    assert.equal(await s.page.getByRole('alert').count(), 0);
  });

  test('keeps the tempo and key with the song after a reload', async () => {
    await s.page.waitForTimeout(600); // the save waits for the control to rest
    assert.deepEqual((await s.service.getSongControls(job.id)).timePitch, { tempo: 0.5, semitones: -2 });
    await s.page.reload();
    await s.page.getByTestId('queue-item').first().getByRole('button').first().click();
    await audioReady(s.page);
    await s.page.getByTestId('tempo-value').filter({ hasText: '50 %' }).waitFor();
    assert.equal(await s.page.getByTestId('semitones-value').textContent(), '−2 st');
  });

  test("exports the mix at the song's tempo, its length divided by the tempo", async () => {
    await s.page.getByRole('button', { name: 'Export…' }).click();
    const d = s.page.getByRole('dialog', { name: 'Export' });
    assert.match((await d.getByTestId('export-time-pitch').textContent()) ?? '', /50 %.*-2/s);
    await d.getByLabel('Format').selectOption('wav');
    await d.getByLabel('Bit depth').selectOption('32f');
    await d.getByLabel('Folder').fill(join(s.dir, 'practice'));
    await d.getByRole('button', { name: 'Export current mix' }).click();
    const result = d.getByTestId('export-result');
    await result.waitFor({ timeout: 120_000 });
    const file = (await result.locator('li').first().textContent())!.trim();
    assert.match(file, /\(full mix, 50 %, -2 st\)\.wav$/, 'named for its tempo and key');
    const frames = (await decodeFile(job.result!.stemPaths[job.result!.sources[0]])).channels[0].length;
    const mix = await decodeFile(file);
    assert.ok(
      Math.abs(mix.channels[0].length - frames / 0.5) <= 1,
      `${mix.channels[0].length} frames for ${frames} at 50 %`,
    );
    await d.getByRole('button', { name: 'Close' }).click();
  });
});
