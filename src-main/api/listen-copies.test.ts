import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFile } from '../engine/audio/decode.ts';
import type { JobView, SongControls, StudioEvent } from './contract.ts';
import { ListenCopies, type ListenAnswer } from './listen-copies.ts';
import { StudioService } from './service.ts';
import { defaultSettings, openSettingsStore } from './settings-store.ts';
import { FakeEngine, MemoryAudio, SOURCES, fakeRender } from './testing/fakes.ts';

const LENGTH = 1000;

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-api-'));
  const audio = new MemoryAudio();
  const engine = new FakeEngine(audio, LENGTH);
  const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
  const listenDir = join(dir, 'listening');
  const service = new StudioService({ engine, audio, settings, capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true }, listenDir });
  const events: JobView[] = [];
  service.onEvent((e: StudioEvent) => { if (e.type === 'job') events.push(e.job); });
  let open!: () => void;
  const gate = () => { engine.gate = new Promise((r) => { open = r; }); };
  const copies = async () => (await readdir(listenDir).catch(() => [] as string[])).sort();
  return {
    dir, engine, service, events, listenDir, copies, gate, open: () => open(),
    done: async () => { await service.dispose(); await rm(dir, { recursive: true, force: true }); },
  };
}

const controls = (vocals: number): SongControls => ({ controls: { wienerIterations: 1, softmask: false, residual: false, strength: { vocals } }, presetId: null });

/** The samples of a served block through the real decoder, from a real file. */
async function samples(dir: string, answer: ListenAnswer) {
  if (answer.kind !== 'audio') assert.fail(`${answer.kind}: ${answer.message}`);
  const path = join(dir, `block-${Math.random().toString(36).slice(2)}.wav`);
  await writeFile(path, answer.wav);
  return decodeFile(path);
}

/** What the fake engine renders of those frames with those controls, as the copy's channels. */
function expected(sc: SongControls | null, from: number, frames: number): Float32Array[] {
  const stems = fakeRender({ input: '', outDir: '', ...(sc ? { controls: sc.controls } : {}) }, from, frames);
  return Object.values(stems).flat();
}

async function until(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.fail(`never happened: ${what}`);
}

describe('listening copies', () => {
  test('serves a first separation while it runs, only as far as its frames are final, and then the whole song', async () => {
    const t = await setup();
    t.gate();
    const [job] = await t.service.open(['/songs/a.wav']);
    await until('half the song is final', () => t.events.some((e) => e.listen?.readyFrames === LENGTH / 2));
    const running = (await t.service.listJobs())[0];
    assert.equal(running.state, 'running');
    assert.deepEqual(running.listen, { revision: 0, sampleRate: 44100, frames: LENGTH, readyFrames: LENGTH / 2, sources: SOURCES });

    const early = await t.service.listen(job.id, '0', '100', '900');
    assert.equal(early.kind, 'audio');
    assert.deepEqual(early.kind === 'audio' && [early.from, early.frames], [100, 400], 'cut at the last final frame');
    const got = await samples(t.dir, early);
    assert.equal(got.sampleRate, 44100);
    assert.deepEqual(got.channels, expected(null, 100, 400));
    assert.equal((await t.service.listen(job.id, '0', '500', '10')).kind, 'not-ready', 'nothing final from there yet');

    t.open();
    await t.service.idle();
    const done = t.events.at(-1)!;
    assert.equal(done.state, 'done');
    assert.deepEqual(done.listen, { revision: 0, sampleRate: 44100, frames: LENGTH, readyFrames: LENGTH, sources: SOURCES }, 'the "done" event carries the complete copy');
    assert.deepEqual((await samples(t.dir, await t.service.listen(job.id, '0', '0', String(LENGTH)))).channels, expected(null, 0, LENGTH));
    await t.done();
  });

  test("names a re-render's revision in its first event, before the engine starts it, and ends with the same revision", async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const before = t.engine.requests.length;
    let requestsAtFirstEvent = -1;
    const seen: JobView[] = [];
    t.service.onEvent((e) => {
      if (e.type !== 'job' || !e.job.rerender) return;
      if (seen.length === 0) requestsAtFirstEvent = t.engine.requests.length;
      seen.push(e.job);
    });
    const view = await t.service.rerender(job.id, controls(2));
    assert.equal(requestsAtFirstEvent, before, 'the first event came before the engine was asked');
    assert.deepEqual(seen[0].rerender?.listen, { revision: 1, sampleRate: 44100, frames: LENGTH, readyFrames: 0, sources: SOURCES });
    assert.equal(view.result?.revision, 1);
    assert.deepEqual(view.listen, { revision: 1, sampleRate: 44100, frames: LENGTH, readyFrames: LENGTH, sources: SOURCES }, 'the player now plays it');
    assert.deepEqual((await samples(t.dir, await t.service.listen(job.id, '1', '0', '10'))).channels, expected(controls(2), 0, 10));
    await t.done();
  });

  test('keeps the newest finished render, the one before it and the one running, and removes the rest', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    await t.service.rerender(job.id, controls(2));
    assert.equal((await t.copies()).length, 2);
    await t.service.rerender(job.id, controls(3));
    await until('revision 0 went when 2 was done', async () => (await t.copies()).length === 2);
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'not-kept');
    assert.equal((await t.service.listen(job.id, '1', '0', '10')).kind, 'audio', 'the one before the newest (A) stays');
    t.gate();
    const third = t.service.rerender(job.id, controls(4));
    await until('the third re-render is half written', () => t.events.some((e) => e.rerender?.listen?.revision === 3 && e.rerender.listen.readyFrames > 0));
    assert.equal((await t.copies()).length, 3, 'newest, the one before, and the one running');
    t.open();
    await third;
    await until('revision 1 went when 3 was done', async () => (await t.copies()).length === 2);
    assert.equal((await t.service.listen(job.id, '1', '0', '10')).kind, 'not-kept');
    await t.done();
  });

  test('removes the copy of a cancelled first separation, of a replaced re-render, of a song that leaves the queue, and all at exit', async () => {
    const t = await setup();
    t.gate();
    const [first] = await t.service.open(['/songs/a.wav']);
    await until('the first half is written', async () => (await t.copies()).length === 1);
    await t.service.cancel(first.id);
    await t.service.idle();
    assert.deepEqual(await t.copies(), [], 'cancelled');
    assert.equal((await t.service.listen(first.id, '0', '0', '10')).kind, 'not-kept');

    t.open();
    const [job] = await t.service.open(['/songs/b.wav']);
    await t.service.idle();
    t.gate();
    const replaced = assert.rejects(t.service.rerender(job.id, controls(2)), { code: 'CANCELLED' });
    await until('the re-render is half written', async () => (await t.copies()).length === 2);
    const newer = t.service.rerender(job.id, controls(3));
    assert.equal((await t.service.listen(job.id, '1', '0', '10')).kind, 'not-kept', 'a replaced render is no longer served');
    t.open();
    await replaced;
    assert.equal((await newer).result?.revision, 2);
    await until('revisions 0 and 2 are left; the replaced one is gone', async () => (await t.copies()).length === 2);

    const [other] = await t.service.open(['/songs/c.wav']);
    await t.service.idle();
    assert.equal((await t.copies()).length, 3);
    await t.service.remove(job.id);
    await until('the removed song\'s copies are gone', async () => (await t.copies()).length === 1);
    assert.equal((await t.service.listen(job.id, '2', '0', '10')).kind, 'not-kept');
    assert.equal((await t.service.listen(other.id, '0', '0', '10')).kind, 'audio');
    await t.service.dispose();
    assert.deepEqual(await t.copies(), [], 'none left at exit');
    await rm(t.dir, { recursive: true, force: true });
  });

  test('refuses bad numbers, says which revision is not kept and what is not rendered yet', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    for (const [rev, from, frames] of [['x', '0', '10'], ['0', '-1', '10'], ['0', '1.5', '10'], ['0', '0', '0'], ['0', null, '10'], ['0', '0', null], ['0', String(LENGTH), '10']]) {
      const a = await t.service.listen(job.id, rev!, from, frames);
      if (a.kind !== 'bad-request') assert.fail(`${rev} ${from} ${frames}: ${a.kind}`);
      assert.ok(a.message.length > 0, 'says why');
    }
    assert.equal((await t.service.listen('nojob', '0', '0', '10')).kind, 'not-kept');
    assert.equal((await t.service.listen(job.id, '7', '0', '10')).kind, 'not-kept');
    const capped = await t.service.listen(job.id, '0', '0', String(10 ** 9));
    assert.deepEqual(capped.kind === 'audio' && capped.frames, LENGTH, 'a long request gets what there is');
    await t.done();
  });

  test("renders the newest re-render's frames not written yet on demand, the same samples its copy then holds", async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    t.gate();
    const running = t.service.rerender(job.id, controls(2));
    await until('half written', () => t.events.some((e) => e.rerender?.listen?.readyFrames === LENGTH / 2));
    const regionsBefore = t.engine.regions.length;
    const answer = t.service.listen(job.id, '1', '600', '300');
    await until('the part is asked of the engine', () => t.engine.regions.length > regionsBefore);
    assert.deepEqual(t.engine.regions.at(-1)!.region, { start: 600, frames: 300 });
    assert.deepEqual(t.engine.regions.at(-1)!.request.controls, controls(2).controls, "the re-render's controls");
    t.open();
    const onDemand = await samples(t.dir, await answer);
    await running;
    const fromCopy = await samples(t.dir, await t.service.listen(job.id, '1', '600', '300'));
    assert.deepEqual(onDemand.channels, fromCopy.channels);
    assert.deepEqual(fromCopy.channels, expected(controls(2), 600, 300));
    await t.done();
  });

  test("a newer re-render's block cancels the older one's on-demand render, and a block asked for twice is rendered once", async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    t.gate();
    const older = assert.rejects(t.service.rerender(job.id, controls(2)), { code: 'CANCELLED' });
    await until('half written', () => t.events.some((e) => e.rerender?.listen?.revision === 1 && e.rerender.listen.readyFrames > 0));
    const olderBlock = t.service.listen(job.id, '1', '700', '100');
    await until('asked of the engine', () => t.engine.regions.length === 1);
    const newer = t.service.rerender(job.id, controls(3));
    await until('the newer one is half written', () => t.events.some((e) => e.rerender?.listen?.revision === 2 && e.rerender.listen.readyFrames > 0));
    const newerBlock = t.service.listen(job.id, '2', '700', '100');
    assert.equal((await olderBlock).kind, 'not-ready', 'cancelled: the player asks again');
    t.open();
    assert.deepEqual((await samples(t.dir, await newerBlock)).channels, expected(controls(3), 700, 100));
    await older;
    await newer;

    t.gate();
    void t.service.rerender(job.id, controls(4));
    await until('half written', () => t.events.some((e) => e.rerender?.listen?.revision === 3 && e.rerender.listen.readyFrames > 0));
    const asked = t.engine.regions.length;
    const twice = [t.service.listen(job.id, '3', '600', '200'), t.service.listen(job.id, '3', '650', '100')];
    await until('asked of the engine', () => t.engine.regions.length > asked);
    t.open();
    const [a, b] = await Promise.all(twice);
    assert.deepEqual((await samples(t.dir, a)).channels, expected(controls(4), 600, 200));
    assert.deepEqual((await samples(t.dir, b)).channels, expected(controls(4), 650, 100));
    assert.equal(t.engine.regions.length, asked + 1, 'the second block came from the first one rendered');
    await t.done();
  });
});

describe('ListenCopies', () => {
  test('tells the UI of frames becoming final at most once per interval, and always of the last ones', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const changed: string[] = [];
      const copies = new ListenCopies({
        dir: join(tmpdir(), 'never-written'), engine: new FakeEngine(new MemoryAudio()), jobs: { get: () => undefined },
        requestFor: (input, c) => ({ input, outDir: '/', controls: c }), changed: (id) => changed.push(id), interval: 250,
      });
      const ticket = copies.beginFirst('song');
      for (let ready = 0; ready <= 1000; ready += 10) ticket.onListen({ sampleRate: 44100, frames: 1000, readyFrames: ready, sources: ['a'] });
      assert.equal(changed.length, 1, 'the first at once, the rest wait');
      mock.timers.tick(250);
      assert.equal(changed.length, 2, 'then the last growth');
      assert.equal(copies.views('song').listen?.readyFrames, 1000);
      mock.timers.tick(1000);
      assert.equal(changed.length, 2, 'nothing more without growth');
    } finally {
      mock.timers.reset();
    }
  });
});
