// Looping a part of the song in browser mode: a region dragged in the ruler snaps to the measured beats, the
// playhead wraps back into it at the song's tempo and at another, a named region is kept with the song, and the
// loop region alone can be exported.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { JobView } from '../../src-main/api/contract.ts';
import { makeSong } from '../fixtures/audio.ts';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { audioReady, screenshot, separateInPage, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason();
type PageDocument = { querySelector(s: string): { textContent: string | null } | null };
// Page-side function sent as source: it reaches the document itself.
const positionNow = () => {
  const [m, sec] = (
    (globalThis as unknown as { document: PageDocument }).document.querySelector('[data-testid=position]')
      ?.textContent ?? '0:0'
  ).split(':');
  return Number(m) * 60 + Number(sec);
};

describe('loops on the beat', { skip: reason ?? false, timeout: 600_000 }, () => {
  let s: Studio;
  let job: JobView;
  let region: { start: number; end: number };
  const errors: string[] = [];

  before(async () => {
    s = await startStudio();
    s.page.on('pageerror', (e) => errors.push(e.message));
    const song = join(s.dir, 'Loop Song.wav');
    await makeSong(song, { seconds: 8, sampleRate: 44100, channels: 2, seed: 5 });
    job = await separateInPage(s, song);
    await audioReady(s.page);
  });

  after(async () => {
    await s?.close();
  });

  /** Positions the transport shows, every 100 ms for `seconds`. */
  async function watch(seconds: number): Promise<number[]> {
    const seen: number[] = [];
    for (let i = 0; i < seconds * 10; i++) {
      seen.push((await s.page.evaluate(positionNow)) as number);
      await s.page.waitForTimeout(100);
    }
    return seen;
  }

  /** The playhead went back at least once, and from its first jump back on stayed inside the region. */
  function assertWraps(seen: number[], what: string) {
    const back = seen.findIndex((p, i) => i > 0 && p < seen[i - 1] - 0.2);
    assert.ok(back > 0, `${what}: the playhead never went back (${seen.join(' ')})`);
    const inside = seen.slice(back);
    assert.ok(
      inside.every((p) => p >= region.start - 0.1 && p <= region.end + 0.1),
      `${what}: stays in ${region.start}–${region.end} once looping (${inside.join(' ')})`,
    );
    assert.ok(Math.max(...seen) <= region.end + 0.1, `${what}: never past the loop's end (${Math.max(...seen)})`);
  }

  test('selects a region by dragging in the ruler, its edges on the measured beats', async () => {
    const duration = job.result!.duration;
    const box = (await s.page.getByTestId('timeline').boundingBox())!;
    const px = box.width / duration;
    const y = box.y + 10;
    await s.page.mouse.move(box.x + 2.1 * px, y);
    await s.page.mouse.down();
    await s.page.mouse.move(box.x + 3 * px, y, { steps: 4 });
    await s.page.mouse.move(box.x + 4.6 * px, y, { steps: 4 });
    await s.page.mouse.up();
    const drawn = s.page.getByTestId('loop-region');
    region = {
      start: Number(await drawn.getAttribute('data-start')),
      end: Number(await drawn.getAttribute('data-end')),
    };
    const beats = job.result!.analysis!.beats;
    for (const edge of [region.start, region.end])
      assert.ok(beats.includes(edge), `${edge} is one of the song's beats`);
    assert.ok(
      region.start > 1.5 && region.end < 5.5 && region.end - region.start >= 1,
      `${region.start}–${region.end}`,
    );
    assert.equal(await s.page.getByTestId('position').textContent(), '0:00.0', 'selecting does not move the playhead');
  });

  test("plays into the loop and wraps back to its start, at the song's tempo and at 150 %", async () => {
    const loop = s.page.getByTestId('loop');
    await loop.click();
    assert.equal(await loop.getAttribute('aria-pressed'), 'true');
    await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    assertWraps(await watch(region.end + (region.end - region.start) + 1), 'at 100 %');
    await s.page.getByLabel('Tempo', { exact: true }).fill('150');
    await s.page.getByTestId('time-pitch-preparing').waitFor({ state: 'detached', timeout: 30_000 });
    const seen = await watch((2 * (region.end - region.start)) / 1.5 + 1);
    assert.ok(
      seen.every((p) => p >= region.start - 0.1 && p <= region.end + 0.1),
      `at 150 %: stays in the loop (${seen.join(' ')})`,
    );
    assertWraps(seen, 'at 150 %');
    await screenshot(s.page, 'loops');
    await s.page.getByRole('button', { name: 'Pause' }).click();
    assert.deepEqual(errors, []);
    assert.equal(await s.page.getByRole('alert').count(), 0);
  });

  test('keeps a named region and the loop it was left with after a reload, and picking the region loops it again', async () => {
    await s.page.getByTestId('region-name').fill('verse');
    await s.page.getByRole('button', { name: 'Save region' }).click();
    await s.page.getByTestId('region').filter({ hasText: 'verse' }).waitFor();
    // Saved once the service has them; a reload before then would find the song without them.
    for (let i = 0; i < 50; i++) {
      const c = await s.service.getSongControls(job.id);
      if (c.regions?.length && c.loop) break;
      await s.page.waitForTimeout(100);
    }
    assert.deepEqual(
      (await s.service.getSongControls(job.id)).loop,
      { ...region, active: true },
      'the loop is saved with the song',
    );
    await s.page.reload();
    await s.page.getByTestId('queue-item').first().getByRole('button').first().click();
    await audioReady(s.page);
    const saved = s.page.getByTestId('region').filter({ hasText: 'verse' });
    await saved.waitFor();
    const drawn = s.page.getByTestId('loop-region');
    await drawn.waitFor();
    assert.deepEqual(
      [Number(await drawn.getAttribute('data-start')), Number(await drawn.getAttribute('data-end'))],
      [region.start, region.end],
      'the loop the song was left with is back',
    );
    assert.equal(await s.page.getByTestId('loop').getAttribute('aria-pressed'), 'true', 'and loops as it did');
    await s.page.getByTestId('loop').click();
    await saved.click();
    assert.deepEqual(
      [Number(await drawn.getAttribute('data-start')), Number(await drawn.getAttribute('data-end'))],
      [region.start, region.end],
    );
    assert.equal(await s.page.getByTestId('loop').getAttribute('aria-pressed'), 'true');
    assert.deepEqual((await s.service.getSongControls(job.id)).regions, [{ name: 'verse', ...region }]);
  });

  test('counts in with clicks before playing, then plays on in the loop without an error', async () => {
    const countIn = s.page.getByTestId('count-in');
    await countIn.click();
    assert.equal(await countIn.getAttribute('aria-pressed'), 'true');
    const from = (await s.page.evaluate(positionNow)) as number;
    await s.page.getByTestId('play').click();
    await s.page.getByRole('button', { name: 'Pause' }).waitFor();
    await s.page.waitForFunction(
      (p) => {
        const [m, sec] = (
          (globalThis as unknown as { document: PageDocument }).document.querySelector('[data-testid=position]')
            ?.textContent ?? '0:0'
        ).split(':');
        return Number(m) * 60 + Number(sec) !== p;
      },
      from,
      { timeout: 15_000 },
    );
    await s.page.getByRole('button', { name: 'Pause' }).click();
    assert.deepEqual(errors, []);
    assert.equal(await s.page.getByRole('alert').count(), 0);
  });

  test('exports the mix of the loop region alone when asked, at the tempo it plays at', async () => {
    await s.page.getByRole('button', { name: 'Export…' }).click();
    const d = s.page.getByRole('dialog', { name: 'Export' });
    const only = d.getByTestId('export-region');
    assert.match((await only.textContent()) ?? '', /Only the loop region \(\d:\d\d\.\d–\d:\d\d\.\d\)/);
    await only.getByRole('checkbox').check();
    await d.getByLabel('Format').selectOption('wav');
    await d.getByLabel('Bit depth').selectOption('32f');
    await d.getByLabel('Folder').fill(join(s.dir, 'parts'));
    await d.getByRole('button', { name: 'Export current mix' }).click();
    const result = d.getByTestId('export-result');
    await result.waitFor({ timeout: 120_000 });
    const file = (await result.locator('li').first().textContent())!.trim();
    assert.match(file, /\[\dm\d\d\.\ds-\dm\d\d\.\ds\]\.wav$/, 'named for its part');
    const tempo = (await s.service.getSongControls(job.id)).timePitch?.tempo ?? 1;
    const rate = job.result!.sampleRate;
    const frames = (Math.round(region.end * rate) - Math.round(region.start * rate)) / tempo;
    const mix = await decodeFile(file);
    assert.ok(
      Math.abs(mix.channels[0].length - frames) <= 1,
      `${mix.channels[0].length} frames for the part's ${frames} at ${tempo * 100} %`,
    );
    await d.getByRole('button', { name: 'Close' }).click();
    assert.deepEqual(errors, []);
  });
});
