import { describe, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { decodeFile, decodeStream } from '../engine/audio/decode.ts';
import { writeAudioFile } from '../engine/audio/stem-writer.ts';
import { ListeningCopy, readListeningCopy } from '../engine/separate/listening-copy.ts';
import { BLOCK_FRAMES, MAX_ERROR } from '../engine/separate/listen-codec.ts';
import type { JobView, SongControls, StudioEvent } from './contract.ts';
import {
  LISTEN_DECODES,
  LISTEN_RETRY_MS,
  ListenCopies,
  MAX_LISTEN_SECONDS,
  type ListenAnswer,
  type ListenCopiesDeps,
} from './listen-copies.ts';
import { FakeEngine, MemoryAudio, SOURCES, fakeRender } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';
import { onSmallDisk } from '../../test/fixtures/small-disk.ts';

const LENGTH = 1000;

async function setup(listenCap?: number, listenPlayheadWaitMs?: number) {
  const studio = await fakeStudio('xumx-listen-api-', {
    frames: LENGTH,
    deps: (d) => ({
      listenDir: join(d, 'listening'),
      ...(listenCap !== undefined ? { listenCap } : {}),
      ...(listenPlayheadWaitMs !== undefined ? { listenPlayheadWaitMs } : {}),
    }),
  });
  const { dir, audio, engine, service } = studio;
  const listenDir = join(dir, 'listening');
  const events: JobView[] = [];
  service.onEvent((e: StudioEvent) => {
    if (e.type === 'job') events.push(e.job);
  });
  let open!: () => void;
  const gate = () => {
    engine.gate = new Promise((r) => {
      open = r;
    });
  };
  const copies = async () => (await readdir(listenDir).catch(() => [] as string[])).sort();
  const bytes = async () =>
    (await Promise.all((await copies()).map(async (f) => (await stat(join(listenDir, f))).size))).reduce(
      (a, b) => a + b,
      0,
    );
  const listenOf = async (id: string) => (await service.listJobs()).find((j) => j.id === id)?.listen;
  return {
    dir,
    audio,
    engine,
    service,
    events,
    listenDir,
    copies,
    bytes,
    listenOf,
    gate,
    open: () => open(),
    done: async () => {
      await service.dispose();
      await studio.done();
    },
  };
}

type Studio = Awaited<ReturnType<typeof setup>>;

const controls = (vocals: number): SongControls => ({
  controls: { wienerIterations: 1, softmask: false, residual: false, strength: { vocals } },
  presetId: null,
});

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

/** Channels equal within what a listening copy keeps of its samples. */
function assertNear(got: Float32Array[], want: Float32Array[], what = 'the block'): void {
  assert.equal(got.length, want.length, `${what}: channels`);
  let worst = 0;
  got.forEach((ch, c) => {
    assert.equal(ch.length, want[c].length, `${what}: frames`);
    ch.forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - want[c][i]));
    });
  });
  assert.ok(worst <= MAX_ERROR, `${what} is off by ${worst}`);
}

/** The song at `path` separated, then re-rendered with controls(2) until half its frames are final; the gate holds it. */
async function halfRerendered(t: Studio, path = '/songs/a.wav') {
  const [job] = await t.service.open([path]);
  await t.service.idle();
  t.gate();
  const running = t.service.rerender(job.id, controls(2));
  await until('half written', () => t.events.some((e) => e.rerender?.listen?.readyFrames === LENGTH / 2));
  return { job, running };
}

/** The song separated on a studio whose cap holds no copy: its copy dropped as soon as nobody listens to it. */
async function separatedThenDropped(t: Studio): Promise<JobView> {
  const [job] = await t.service.open(['/songs/a.wav']);
  await t.service.idle();
  await until('the copy is dropped', async () => (await t.listenOf(job.id))?.readyFrames === 0);
  return job;
}

/**
 * A re-render of a song just listened to first waits a moment for its block at the playhead, on a timer that does not
 * keep a process alive: with nothing else to do, the test's would end meanwhile.
 */
async function keptAlive<T>(work: () => Promise<T>): Promise<T> {
  const alive = setInterval(() => {}, 20);
  try {
    return await work();
  } finally {
    clearInterval(alive);
  }
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
    assert.deepEqual(running.listen, {
      revision: 0,
      sampleRate: 44100,
      frames: LENGTH,
      readyFrames: LENGTH / 2,
      complete: false,
      sources: SOURCES,
      error: null,
    });

    const early = await t.service.listen(job.id, '0', '100', '900');
    assert.equal(early.kind, 'audio');
    assert.deepEqual(early.kind === 'audio' && [early.from, early.frames], [100, 400], 'cut at the last final frame');
    const got = await samples(t.dir, early);
    assert.equal(got.sampleRate, 44100);
    assertNear(got.channels, expected(null, 100, 400));
    assert.equal((await t.service.listen(job.id, '0', '500', '10')).kind, 'not-ready', 'nothing final from there yet');

    t.open();
    await t.service.idle();
    const done = t.events.at(-1)!;
    assert.equal(done.state, 'done');
    assert.deepEqual(
      done.listen,
      {
        revision: 0,
        sampleRate: 44100,
        frames: LENGTH,
        readyFrames: LENGTH,
        complete: true,
        sources: SOURCES,
        error: null,
      },
      'the "done" event carries the complete copy',
    );
    assertNear(
      (await samples(t.dir, await t.service.listen(job.id, '0', '0', String(LENGTH)))).channels,
      expected(null, 0, LENGTH),
    );
    await t.done();
  });

  test('saves the loop and named regions chosen while the song is separated, checked against its length', async () => {
    const t = await setup();
    t.gate();
    const [job] = await t.service.open(['/songs/a.wav']);
    await until('the copy is begun', () => t.events.some((e) => e.listen !== undefined && e.listen !== null));
    assert.equal((await t.service.listJobs())[0].state, 'running');
    const loop = { start: 0.005, end: 0.015, active: true };
    await t.service.setSongLoop(job.id, loop, true);
    const regions = [{ name: 'intro', start: 0, end: 0.01 }];
    await t.service.setSongRegions(job.id, regions);
    await assert.rejects(
      t.service.setSongLoop(job.id, { start: 0, end: 5, active: true }, false),
      /^XumxError: a\.wav: the loop ends after the song/,
    );
    t.open();
    await t.service.idle();
    const saved = await t.service.getSongControls(job.id);
    assert.deepEqual(saved.loop, loop);
    assert.equal(saved.countIn, true);
    assert.deepEqual(saved.regions, regions);
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
    assert.deepEqual(seen[0].rerender?.listen, {
      revision: 1,
      sampleRate: 44100,
      frames: LENGTH,
      readyFrames: 0,
      complete: false,
      sources: SOURCES,
      error: null,
    });
    assert.equal(view.result?.revision, 1);
    assert.deepEqual(
      view.listen,
      {
        revision: 1,
        sampleRate: 44100,
        frames: LENGTH,
        readyFrames: LENGTH,
        complete: true,
        sources: SOURCES,
        error: null,
      },
      'the player now plays it',
    );
    assertNear(
      (await samples(t.dir, await t.service.listen(job.id, '1', '0', '10'))).channels,
      expected(controls(2), 0, 10),
    );
    await t.done();
  });

  test('keeps the newest finished render, the one before it, the two heard last and the one running, and removes the rest', async () => {
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
    await until('the third re-render is half written', () =>
      t.events.some((e) => e.rerender?.listen?.revision === 3 && e.rerender.listen.readyFrames > 0),
    );
    assert.equal((await t.copies()).length, 3, 'newest, the one before, and the one running');
    t.open();
    await third;
    // Render 1 was heard last (the A side, played while this change was made): it stays beside 2, the one before 3.
    assert.deepEqual((await t.service.listJobs())[0].listenKept, [3, 2, 1]);
    assert.equal((await t.copies()).length, 3);
    // The newest is listened to, then another change: 2 goes (1 and 3 were heard last).
    assert.equal((await t.service.listen(job.id, '3', '0', '10')).kind, 'audio');
    await keptAlive(() => t.service.rerender(job.id, controls(0.5)));
    await until('revision 2 went when 4 was done', async () => (await t.copies()).length === 3);
    assert.deepEqual((await t.service.listJobs())[0].listenKept, [4, 3, 1]);
    assert.equal((await t.service.listen(job.id, '2', '0', '10')).kind, 'not-kept');
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
    assert.equal(
      (await t.service.listen(job.id, '1', '0', '10')).kind,
      'not-kept',
      'a replaced render is no longer served',
    );
    t.open();
    await replaced;
    assert.equal((await newer).result?.revision, 2);
    await until('revisions 0 and 2 are left; the replaced one is gone', async () => (await t.copies()).length === 2);

    const [other] = await t.service.open(['/songs/c.wav']);
    await t.service.idle();
    assert.equal((await t.copies()).length, 3);
    await t.service.remove(job.id);
    await until("the removed song's copies are gone", async () => (await t.copies()).length === 1);
    assert.deepEqual(await t.service.listen(job.id, '2', '0', '10'), {
      kind: 'bad-request',
      message: `no song with id ${job.id} in the queue`,
    });
    assert.equal((await t.service.listen(other.id, '0', '0', '10')).kind, 'audio');
    await t.service.dispose();
    assert.deepEqual(await t.copies(), [], 'none left at exit');
    await rm(t.dir, { recursive: true, force: true });
  });

  test("drops the song's notice that its copy could not be written once the copy is written from the stems", async () => {
    const t = await setup();
    const separate = t.engine.separate.bind(t.engine);
    let lost = '';
    // The render's copy could not be written (as BestEffortCopy reports it): no frames, the reason, the same notice.
    t.engine.separate = async (req, hooks) => {
      const { listen, ...rest } = hooks!;
      lost = `${dirname(listen!.path)}: the listening copy cannot be written there (the disk is full); the stems are written all the same`;
      listen!.onReady({ sampleRate: 44100, frames: LENGTH, readyFrames: 0, sources: [...SOURCES], notWritten: lost });
      const r = await separate(req, rest);
      return r.ok ? { ...r, notices: [...r.notices, lost] } : r;
    };
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const before = (await t.service.listJobs())[0];
    assert.deepEqual(before.result!.notices, [lost]);
    assert.equal(before.listen!.notWritten, lost);
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'not-ready', 'written from the stems now');
    await until('the song no longer says its copy is missing', async () => {
      return (await t.service.listJobs())[0].result!.notices.length === 0;
    });
    const after = (await t.service.listJobs())[0];
    assert.equal(after.listen!.readyFrames, LENGTH, 'not before the copy is written');
    assert.equal(after.listen!.notWritten, undefined);
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'audio');
    await until('the UI has heard of it', () => t.events.at(-1)?.result?.notices.length === 0);
    await t.done();
  });

  test('refuses bad numbers, says which revision is not kept and what is not rendered yet', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    for (const [rev, from, frames] of [
      ['x', '0', '10'],
      ['0', '-1', '10'],
      ['0', '1.5', '10'],
      ['0', '0', '0'],
      ['0', null, '10'],
      ['0', '0', null],
      ['0', String(LENGTH), '10'],
    ]) {
      const a = await t.service.listen(job.id, rev!, from, frames);
      if (a.kind !== 'bad-request') assert.fail(`${rev} ${from} ${frames}: ${a.kind}`);
      assert.ok(a.message.length > 0, 'says why');
    }
    // An unknown song is refused as every call about a job refuses it (BAD_ARGUMENT), listenPeaks included.
    const unknown = await t.service.listen('nojob', '0', '0', '10');
    assert.deepEqual(unknown, { kind: 'bad-request', message: 'no song with id nojob in the queue' });
    assert.deepEqual(await t.service.listenHead('nojob', '0', '0', '10'), unknown);
    await assert.rejects(t.service.listenPeaks('nojob', 0, 10), { code: 'BAD_ARGUMENT', message: unknown.message });
    assert.equal((await t.service.listen(job.id, '7', '0', '10')).kind, 'not-kept');
    const capped = await t.service.listen(job.id, '0', '0', String(MAX_LISTEN_SECONDS * 44100));
    assert.deepEqual(capped.kind === 'audio' && capped.frames, LENGTH, 'a long request gets what there is');
    await t.done();
  });

  test('refuses a block longer than the player ever asks for, saying the largest it may ask', async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const most = MAX_LISTEN_SECONDS * 44100;
    assert.ok(MAX_LISTEN_SECONDS >= 4 * 2, "room for the player's 2-second blocks, four times over");
    for (const frames of [String(most + 1), String(10 ** 9), '1234567890123456']) {
      const a = await t.service.listen(job.id, '0', '0', frames);
      if (a.kind !== 'bad-request') assert.fail(`${frames}: ${a.kind}`);
      assert.equal(
        a.message,
        `a.wav: "frames" is a whole number from 1 to ${most} (${MAX_LISTEN_SECONDS} s at 44100 Hz)`,
        frames,
      );
    }
    await t.done();
  });

  test("renders the newest re-render's frames not written yet on demand, the same samples its copy then holds", async () => {
    const t = await setup();
    const { job, running } = await halfRerendered(t);
    const regionsBefore = t.engine.regions.length;
    const answer = t.service.listen(job.id, '1', '600', '300');
    await until('the part is asked of the engine', () => t.engine.regions.length > regionsBefore);
    assert.deepEqual(t.engine.regions.at(-1)!.region, { start: 600, frames: 300 });
    assert.deepEqual(t.engine.regions.at(-1)!.request.controls, controls(2).controls, "the re-render's controls");
    t.open();
    const onDemand = await samples(t.dir, await answer);
    await running;
    const fromCopy = await samples(t.dir, await t.service.listen(job.id, '1', '600', '300'));
    assert.deepEqual(onDemand.channels, expected(controls(2), 600, 300));
    assertNear(fromCopy.channels, onDemand.channels, 'the copy');
    await t.done();
  });

  test('a block asked for while its song is removed is refused as an unknown song, naming no file of the app', async () => {
    const t = await setup();
    const half = await halfRerendered(t, '/uploads/1a2b-a.wav');
    const { job } = half;
    const running = half.running.catch((e: unknown) => e);
    // The removal takes the song's uploaded file with it while the block renders from it: the render fails on that.
    let removed!: () => void;
    const gone = new Promise<void>((r) => (removed = r));
    let rendering = false;
    t.engine.renderRegion = async (req) => {
      rendering = true;
      await gone;
      return { input: req.input, ok: false, error: { code: 'FILE_NOT_FOUND', message: `${req.input}: no such file` } };
    };
    const answer = t.service.listen(job.id, '1', '600', '300');
    await until('the block renders', () => rendering);
    await t.service.remove(job.id);
    removed();
    assert.deepEqual(await answer, {
      kind: 'bad-request',
      message: `no song with id ${job.id} in the queue (${job.name} was removed)`,
    });
    t.open();
    await running;
    await t.done();
  });

  test('while the song is listened to, its whole re-render starts once the block at the playhead is rendered on demand, not beside it', async () => {
    const t = await setup(undefined, 60_000);
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.equal((await t.service.listen(job.id, '0', '0', '100')).kind, 'audio');
    const whole = t.engine.requests.length;
    t.gate();
    const running = t.service.rerender(job.id, controls(2));
    await until('its revision is reported', () => t.events.some((e) => e.rerender?.listen?.revision === 1));
    const answer = t.service.listen(job.id, '1', '600', '300');
    await until('the block is asked of the engine', () => t.engine.regions.length > 0);
    assert.equal(t.engine.requests.length, whole, 'the whole song waits for it');
    t.open();
    assert.deepEqual((await samples(t.dir, await answer)).channels, expected(controls(2), 600, 300));
    await running;
    assert.equal(t.engine.requests.length, whole + 1, 'then renders');
    await t.done();
  });

  test('a song nobody listens to now re-renders at once', async () => {
    const t = await setup(undefined, 60_000);
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const whole = t.engine.requests.length;
    await t.service.rerender(job.id, controls(2));
    assert.equal(t.engine.requests.length, whole + 1);
    await t.done();
  });

  test("a newer re-render's block cancels the older one's on-demand render, and a block asked for twice is rendered once", async () => {
    const t = await setup();
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    t.gate();
    const older = assert.rejects(t.service.rerender(job.id, controls(2)), { code: 'CANCELLED' });
    await until('half written', () =>
      t.events.some((e) => e.rerender?.listen?.revision === 1 && e.rerender.listen.readyFrames > 0),
    );
    const olderBlock = t.service.listen(job.id, '1', '700', '100');
    await until('asked of the engine', () => t.engine.regions.length === 1);
    const newer = t.service.rerender(job.id, controls(3));
    await until('the newer one is half written', () =>
      t.events.some((e) => e.rerender?.listen?.revision === 2 && e.rerender.listen.readyFrames > 0),
    );
    const newerBlock = t.service.listen(job.id, '2', '700', '100');
    assert.equal((await olderBlock).kind, 'not-ready', 'cancelled: the player asks again');
    t.open();
    assert.deepEqual((await samples(t.dir, await newerBlock)).channels, expected(controls(3), 700, 100));
    await older;
    await newer;

    t.gate();
    void t.service.rerender(job.id, controls(4));
    await until('half written', () =>
      t.events.some((e) => e.rerender?.listen?.revision === 3 && e.rerender.listen.readyFrames > 0),
    );
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

/** The bytes of one finished song's copy, as the fake engine renders it. */
async function oneCopyBytes(): Promise<number> {
  const t = await setup();
  await t.service.open(['/songs/measure.wav']);
  await t.service.idle();
  const n = await t.bytes();
  await t.done();
  return n;
}

/** A finished song's stems as its files hold them, in the copy's channel order. */
function stemChannels(
  t: Awaited<ReturnType<typeof setup>>,
  job: JobView,
  from: number,
  frames: number,
): Float32Array[] {
  return job.result!.sources.flatMap((s) =>
    t.audio.decodeFile(job.result!.stemPaths[s]).channels.map((c) => c.slice(from, from + frames)),
  );
}

describe('blocks rendered on demand that the player gives up', () => {
  test('are not rendered when their turn comes, and one being rendered is cancelled in the engine', async () => {
    const t = await setup();
    const { job, running } = await halfRerendered(t);
    const [rendering, waiting] = [new AbortController(), new AbortController()];
    const first = t.service.listen(job.id, '1', '600', '100', rendering.signal);
    await until('the first block is asked of the engine', () => t.engine.regions.length === 1);
    const second = t.service.listen(job.id, '1', '800', '100', waiting.signal);
    waiting.abort();
    rendering.abort();
    assert.equal(t.engine.regions[0].signal?.aborted, true, "the engine's render is told");
    assert.equal((await first).kind, 'not-ready');
    t.open();
    assert.equal((await second).kind, 'not-ready');
    assert.equal(t.engine.regions.length, 1, 'the block given up while it waited was never asked of the engine');
    // The player asks again for the block it wants: that one is rendered.
    assert.deepEqual(
      (await samples(t.dir, await t.service.listen(job.id, '1', '800', '100'))).channels,
      expected(controls(2), 800, 100),
    );
    await running;
    await t.done();
  });
});

describe('listening copies within a cap', () => {
  test('keep their total under the cap across several songs, dropping the least recently used song first, never the one listened to', async () => {
    const one = await oneCopyBytes();
    const t = await setup(Math.floor(2.5 * one));
    const jobs: JobView[] = [];
    for (const name of ['a', 'b', 'c']) {
      jobs.push(...(await t.service.open([`/songs/${name}.wav`])));
      await t.service.idle();
      await until(`the copies are within the cap after ${name}`, async () => (await t.bytes()) <= 2.5 * one);
    }
    const [a, b, c] = jobs;
    await until("a's copy is dropped", async () => (await t.listenOf(a.id))?.readyFrames === 0);
    assert.equal((await t.listenOf(b.id))?.readyFrames, LENGTH);
    assert.equal((await t.listenOf(c.id))?.readyFrames, LENGTH);
    assert.equal((await t.copies()).length, 2);

    // b is listened to: c is now the one used least recently.
    assert.equal((await t.service.listen(b.id, '0', '0', '10')).kind, 'audio');
    const [d] = await t.service.open(['/songs/d.wav']);
    await t.service.idle();
    await until("c's copy is dropped", async () => (await t.listenOf(c.id))?.readyFrames === 0);
    assert.equal((await t.listenOf(b.id))?.readyFrames, LENGTH, 'the song listened to keeps its copy');
    assert.equal((await t.listenOf(d.id))?.readyFrames, LENGTH);
    assert.ok((await t.bytes()) <= 2.5 * one);
    await t.done();
  });

  test('bring a dropped copy back from the song\'s stems when it is asked for, answering "not ready" meanwhile', async () => {
    const t = await setup(1);
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    await until('the copy is dropped: nobody listens to it', async () => (await t.listenOf(job.id))?.readyFrames === 0);
    // The file is removed beside the drop, not before it is reported.
    await until('its file is removed', async () => (await t.copies()).length === 0);
    assert.equal((await t.listenOf(job.id))?.complete, true, 'the UI is told the render is whole, so it asks for it');
    const done = (await t.service.listJobs())[0];
    const before = t.events.length;
    const asked = await t.service.listen(job.id, '0', '100', '300');
    assert.equal(asked.kind, 'not-ready');
    await until('the copy is back, as a job event says', () =>
      t.events.slice(before).some((e) => e.id === job.id && e.listen?.readyFrames === LENGTH),
    );
    assert.deepEqual(await t.listenOf(job.id), {
      revision: 0,
      sampleRate: 44100,
      frames: LENGTH,
      readyFrames: LENGTH,
      complete: true,
      sources: SOURCES,
      error: null,
    });
    assertNear(
      (await samples(t.dir, await t.service.listen(job.id, '0', '100', '300'))).channels,
      stemChannels(t, done, 100, 300),
      'the copy made again',
    );
    assert.equal((await t.copies()).length, 1, 'kept over the cap: it is listened to');
    await t.done();
  });

  test("say in the song's job event why a dropped copy cannot be brought back, naming the stem file", async () => {
    const t = await setup(1);
    const job = await separatedThenDropped(t);
    const bass = (await t.service.listJobs())[0].result!.stemPaths.bass;
    t.audio.files.delete(bass);
    const before = t.events.length;
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'not-ready');
    await until('a job event says why', () => t.events.slice(before).some((e) => e.listen?.error));
    const listen = t.events.at(-1)!.listen!;
    assert.equal(listen.readyFrames, 0);
    assert.ok(listen.error!.message.includes(bass), listen.error!.message);
    assert.deepEqual((await t.listenOf(job.id))?.error, listen.error, 'and so does the queue');
    await t.done();
  });

  test('forget a dropped render once a newer one is done: its stems are gone', async () => {
    const t = await setup(1);
    const job = await separatedThenDropped(t);
    await t.service.rerender(job.id, controls(2));
    const answer = await t.service.listen(job.id, '0', '0', '10');
    assert.equal(answer.kind, 'not-kept', `render 0: ${answer.kind}`);
    await t.done();
  });

  test('do not write a dropped copy again from stems that a running re-render is replacing', async () => {
    const t = await setup(1);
    const job = await separatedThenDropped(t);
    t.gate();
    const rerender = t.service.rerender(job.id, controls(2));
    await until('the re-render is half written', () =>
      t.events.some((e) => e.rerender?.listen?.readyFrames === LENGTH / 2),
    );
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'not-ready');
    await new Promise((r) => setTimeout(r, 50));
    t.open();
    await rerender;
    assert.equal(
      (await t.service.listen(job.id, '0', '0', '10')).kind,
      'not-kept',
      'the render before is gone, not made from the new stems',
    );
    assert.equal((await t.service.listen(job.id, '1', '0', '10')).kind, 'audio');
    await t.done();
  });

  test('keep of the listened song, over the cap, its current render and the two a player read last, and say so', async () => {
    const one = await oneCopyBytes();
    // No wait for a block at the playhead: no player asks for one here.
    const t = await setup(Math.floor(1.5 * one), 0);
    const [job] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const kept = async () => (await t.service.listJobs())[0].listenKept?.join();
    const hear = async (revision: number) =>
      assert.equal((await t.service.listen(job.id, String(revision), '0', '10')).kind, 'audio', `render ${revision}`);
    // 0 heard, then a change: 1 is heard and 0 is the A side, kept over the cap however long since it was read.
    await hear(0);
    await keptAlive(() => t.service.rerender(job.id, controls(2)));
    await hear(1);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await kept(), '1,0');
    // Another change, heard: 0 is neither played, compared with, nor in the stems.
    await keptAlive(() => t.service.rerender(job.id, controls(3)));
    const before = t.events.length;
    await hear(2);
    await until('a job event says render 0 is not kept', () =>
      t.events.slice(before).some((e) => e.id === job.id && e.listenKept?.join() === '2,1'),
    );
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'not-kept');
    await until('its file is removed', async () => (await t.copies()).length === 2);
    // A (1) played again (paused there, or looping, it may not be read for a while), then a change made while it
    // plays: the new render is compared with A, and B (2) goes.
    await hear(1);
    await keptAlive(() => t.service.rerender(job.id, controls(0.5)));
    await hear(3);
    await until('render 2 goes', async () => (await kept()) === '3,1');
    assert.equal((await t.service.listen(job.id, '1', '0', '10')).kind, 'audio', 'the A side the switch goes to');
    await t.done();
  });

  test('never drop the copy being written, even over the cap', async () => {
    const t = await setup(1);
    t.gate();
    const [job] = await t.service.open(['/songs/a.wav']);
    await until('half the song is written', async () => (await t.listenOf(job.id))?.readyFrames === LENGTH / 2);
    const [other] = await t.service.open(['/songs/b.wav']);
    assert.equal((await t.service.listen(other.id, '0', '0', '10')).kind, 'not-kept', 'another song is listened to');
    await until('the cap is looked at', async () => (await t.listenOf(job.id))?.readyFrames === LENGTH / 2);
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'audio');
    assert.equal((await t.copies()).length, 1);
    t.open();
    await t.service.idle();
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'audio', 'listened to when it finished');
    await until(
      'the song not listened to has its copy dropped',
      async () => (await t.listenOf(other.id))?.readyFrames === 0,
    );
    assert.equal((await t.service.listen(job.id, '0', '0', '10')).kind, 'audio', 'the one listened to keeps it');
    await t.done();
  });
});

describe('ListenCopies', () => {
  test('tells the UI of frames becoming final at most once per interval, and always of the last ones', () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const changed: string[] = [];
      const copies = new ListenCopies({
        dir: join(tmpdir(), 'never-written'),
        engine: new FakeEngine(new MemoryAudio()),
        jobs: { get: () => undefined },
        requestFor: (input, c) => ({ input, outDir: '/', controls: c }),
        changed: (id) => changed.push(id),
        interval: 250,
        decodeStream: () => Promise.reject(new Error('no stems here')),
      });
      const ticket = copies.beginFirst('song');
      for (let ready = 0; ready <= 1000; ready += 10)
        ticket.onListen({ sampleRate: 44100, frames: 1000, readyFrames: ready, sources: ['a'] });
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

/** A finished song whose stems are real 16-bit WAV files, as the queue would show it. */
async function songOnDisk(dir: string, sources: string[], frames: number, sampleRate: number): Promise<JobView> {
  const stemPaths: Record<string, string> = {};
  for (const [k, source] of sources.entries()) {
    const channels = [0, 1].map((c) =>
      Float32Array.from(
        { length: frames },
        (_, i) => 0.5 * Math.sin((i * (k + 1) * (c + 2)) / 300) * ((i % 977) / 977),
      ),
    );
    stemPaths[source] = join(dir, `${source}.wav`);
    await writeAudioFile(stemPaths[source], channels, { format: 'wav', bitDepth: 16, sampleRate, channels: 2 });
  }
  return {
    id: 'song',
    input: join(dir, 'song.wav'),
    name: 'song.wav',
    state: 'done',
    progress: null,
    error: null,
    result: {
      sampleRate,
      duration: frames / sampleRate,
      modelId: 'fake',
      ep: 'cpu',
      epSkipped: [],
      epTimings: [],
      timings: { decode: 0, stft: 0, network: 0, wiener: 0, istft: 0, encode: 0 },
      notices: [],
      sources,
      stemPaths,
      revision: 0,
    },
  };
}

/**
 * The real stem decoder, counting its calls; with `firstFails`, the first call fails with that error code as a full
 * or busy disk would, leaving the files as they are.
 */
function countingDecoder(firstFails?: { code: string; message: string }) {
  const counter = {
    decodes: 0,
    decode: (path: string): ReturnType<typeof decodeStream> => {
      counter.decodes++;
      if (firstFails && counter.decodes === 1)
        return Promise.reject(Object.assign(new Error(firstFails.message), { code: firstFails.code }));
      return decodeStream(path, { tags: false });
    },
  };
  return counter;
}

/**
 * A song's copy finished, then dropped over a cap of one byte (nobody listens to it yet): what a block request
 * writes again from the stems.
 */
async function droppedCopy(
  dir: string,
  job: JobView,
  decode: (path: string) => ReturnType<typeof decodeStream>,
  now?: () => number,
  later?: ListenCopiesDeps['later'],
) {
  const result = job.result!;
  let drops = 0;
  const copies = new ListenCopies({
    dir: join(dir, 'listening'),
    engine: new FakeEngine(new MemoryAudio()),
    jobs: { get: (id) => (id === job.id ? job : undefined) },
    requestFor: (input, c) => ({ input, outDir: dir, controls: c }),
    changed: () => drops++,
    cap: 1,
    decodeStream: decode,
    ...(now ? { now } : {}),
    ...(later ? { later } : {}),
  });
  const ticket = copies.beginFirst(job.id);
  const frames = Math.round(result.duration * result.sampleRate);
  ticket.onListen({ sampleRate: result.sampleRate, frames, readyFrames: frames, sources: result.sources });
  await mkdir(join(dir, 'listening'), { recursive: true });
  await writeFile(ticket.path, Buffer.alloc(64));
  ticket.settle(true);
  await until('the copy is dropped', () => drops > 0 && copies.views(job.id).listen?.readyFrames === 0);
  return copies;
}

describe('a listening copy written again from its stems', () => {
  test('holds a bounded part of the stems at a time, however long the song, and equals them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-restore-'));
    const sources = ['vocals', 'drums', 'bass', 'other'];
    const frames = 300_000;
    const job = await songOnDisk(dir, sources, frames, 44100);
    // The real decoder, its pieces cut smaller so that the song is many of them; what it has given out and the
    // copy has not yet written is what the main process holds.
    const piece = 16_384;
    const decoded = new Map<string, number>();
    let copies!: ListenCopies;
    let mostHeld = 0;
    let largestPiece = 0;
    const observe = (path: string, n: number) => {
      largestPiece = Math.max(largestPiece, n);
      decoded.set(path, (decoded.get(path) ?? 0) + n);
      const ready = copies.views(job.id).listen?.readyFrames ?? 0;
      const held = [...decoded.values()].reduce((a, d) => a + Math.max(0, d - ready), 0);
      mostHeld = Math.max(mostHeld, held);
    };
    const slicing = async (path: string) => {
      const stream = await decodeStream(path, { tags: false });
      async function* pieces() {
        for await (const p of stream.pieces)
          for (let at = 0; at < p[0].length; at += piece) {
            const part = p.map((c) => c.subarray(at, at + piece));
            observe(path, part[0].length);
            yield part;
          }
      }
      return { ...stream, pieces: pieces() };
    };
    copies = await droppedCopy(dir, job, slicing);
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'not-ready', 'asked for: written again');
    await until('the copy is whole again', () => copies.views(job.id).listen?.readyFrames === frames);
    assert.ok(largestPiece <= piece, `the stems are read a piece at a time (the largest was ${largestPiece} frames)`);
    assert.ok(
      mostHeld <= sources.length * (piece + BLOCK_FRAMES),
      `at most about a piece of each stem is held at once (${mostHeld} frames were, of ${sources.length * frames})`,
    );
    const stems = await Promise.all(sources.map(async (s) => (await decodeFile(job.result!.stemPaths[s])).channels));
    for (let from = 0; from < frames; from += 88_200) {
      const n = Math.min(88_200, frames - from);
      assertNear(
        (await samples(dir, await copies.read(job.id, 0, from, n))).channels,
        stems.flatMap((channels) => channels.map((c) => c.slice(from, from + n))),
        `frames ${from} to ${from + n}`,
      );
    }
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('a listening copy that cannot be written again from its stems', () => {
  test("says in the song's view which stem file is missing, answers with that reason, and is written again once the file is back", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-lost-'));
    const sources = ['vocals', 'drums'];
    const frames = 20_000;
    const job = await songOnDisk(dir, sources, frames, 44100);
    const drums = job.result!.stemPaths.drums;
    const aside = join(dir, 'aside.wav');
    const decoder = countingDecoder();
    const copies = await droppedCopy(dir, job, decoder.decode);
    await rename(drums, aside);
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'not-ready');
    await until('the rebuild has failed', () => copies.views(job.id).listen?.error != null);
    const view = copies.views(job.id).listen!;
    assert.equal(view.readyFrames, 0);
    assert.equal(view.complete, true, 'the render itself is whole');
    assert.equal(view.error!.code, 'FILE_NOT_FOUND');
    assert.ok(view.error!.message.includes(drums), `names the file: ${view.error!.message}`);
    assert.match(view.error!.message, /song\.wav: .*no such file/);
    const tried = decoder.decodes;
    const refused = await copies.read(job.id, 0, 0, 100);
    assert.equal(refused.kind, 'failed');
    assert.equal(refused.message, view.error!.message, 'the block says the same');
    assert.equal(decoder.decodes, tried, 'not tried again while the stems are as they were');

    await rename(aside, drums);
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'not-ready', 'tried again: the file is back');
    await until('the copy is whole again', () => copies.views(job.id).listen?.readyFrames === frames);
    assert.equal(copies.views(job.id).listen!.error, null);
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'audio');
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test("says which stem file was cut short behind the app's back, as TRUNCATED", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-cut-'));
    const job = await songOnDisk(dir, ['vocals', 'drums'], 20_000, 44100);
    const drums = job.result!.stemPaths.drums;
    const copies = await droppedCopy(dir, job, countingDecoder().decode);
    await writeAudioFile(drums, [new Float32Array(5000), new Float32Array(5000)], {
      format: 'wav',
      bitDepth: 16,
      sampleRate: 44100,
      channels: 2,
    });
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'not-ready');
    await until('the rebuild has failed', () => copies.views(job.id).listen?.error != null);
    const { error } = copies.views(job.id).listen!;
    assert.equal(error!.code, 'TRUNCATED');
    assert.ok(error!.message.includes(`${drums}: the drums stem is no longer the one rendered`), error!.message);
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('is tried again a while after it failed even when the stem files look the same', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-retry-'));
    const job = await songOnDisk(dir, ['vocals'], 5_000, 44100);
    let now = 1_000_000;
    const decoder = countingDecoder({ code: 'EMFILE', message: 'EMFILE: too many open files' });
    const copies = await droppedCopy(dir, job, decoder.decode, () => now);
    await copies.read(job.id, 0, 0, 100);
    await until('the rebuild has failed', () => copies.views(job.id).listen?.error != null);
    now += 1000;
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'failed', 'not at once: no loop of failing rebuilds');
    assert.equal(decoder.decodes, 1);
    now += LISTEN_RETRY_MS;
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'not-ready', 'tried again');
    await until('the copy is whole again', () => copies.views(job.id).listen?.readyFrames === 5_000);
    assert.equal(decoder.decodes, 2);
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});

describe('a listening copy that cannot be written again for want of room', () => {
  test('says which folder is full, not a temporary file, and does not blame the stem files', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-room-'));
    const job = await songOnDisk(dir, ['vocals', 'drums'], 50_000, 44100);
    const listening = join(dir, 'listening');
    await mkdir(listening);
    await onSmallDisk(t, listening, '16k', async () => {
      const copies = await droppedCopy(dir, job, (path) => decodeStream(path, { tags: false }));
      await copies.read(job.id, 0, 0, 100);
      await until('the rebuild has failed', () => copies.views(job.id).listen?.error != null);
      const error = copies.views(job.id).listen!.error!;
      assert.equal(error.code, 'DISK_FULL');
      assert.equal(
        error.message,
        `song.wav: the song's audio cannot be written again to ${listening} (the disk is full); ` +
          `playing tries again in ${LISTEN_RETRY_MS / 1000} s`,
      );
      await copies.dispose();
    });
    await rm(dir, { recursive: true, force: true });
  });
});

describe('a listening copy whose rebuild failed while its song is listened to', () => {
  test('is tried again a while later without waiting for a block request (the player has stopped asking)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-later-'));
    const job = await songOnDisk(dir, ['vocals'], 5_000, 44100);
    const decoder = countingDecoder({ code: 'ENOSPC', message: 'ENOSPC: no space left on device' });
    const scheduled: { run: () => void; ms: number }[] = [];
    const copies = await droppedCopy(dir, job, decoder.decode, undefined, (run, ms) => scheduled.push({ run, ms }));
    assert.equal((await copies.read(job.id, 0, 0, 100)).kind, 'not-ready');
    await until('the rebuild has failed', () => copies.views(job.id).listen?.error != null);
    assert.deepEqual(
      scheduled.map((s) => s.ms),
      [LISTEN_RETRY_MS],
    );
    scheduled[0].run();
    await until('the copy is whole again', () => copies.views(job.id).listen?.readyFrames === 5_000);
    assert.equal(decoder.decodes, 2);
    assert.equal(copies.views(job.id).listen!.error, null);
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});

/** A finished song's copy, kept (the cap is the default), written from its stem files by the real writer. */
async function keptCopy(dir: string, read: typeof readListeningCopy) {
  const sources = ['vocals', 'drums'];
  const job = await songOnDisk(dir, sources, 44100, 44100);
  const copies = new ListenCopies({
    dir: join(dir, 'listening'),
    engine: new FakeEngine(new MemoryAudio()),
    jobs: { get: (id) => (id === job.id ? job : undefined) },
    requestFor: (input, c) => ({ input, outDir: dir, controls: c }),
    changed: () => {},
    decodeStream: (path) => decodeStream(path, { tags: false }),
    readCopy: read,
  });
  const ticket = copies.beginFirst(job.id);
  const writer = await ListeningCopy.create(ticket.path, sources, 44100, 44100, (l) => ticket.onListen(l));
  for (const [k, s] of sources.entries()) await writer.add(k, (await decodeFile(job.result!.stemPaths[s])).channels);
  await writer.finish();
  ticket.settle(true);
  return { copies, job };
}

describe('the work one block request makes', () => {
  test('a HEAD request says how long the block is without reading the copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-head-'));
    let reads = 0;
    const { copies, job } = await keptCopy(dir, (...args) => {
      reads++;
      return readListeningCopy(...args);
    });
    const head = await copies.head(job.id, 0, 1000, 2000);
    assert.equal(reads, 0, 'nothing decoded');
    const get = await copies.read(job.id, 0, 1000, 2000);
    assert.equal(reads, 1);
    if (head.kind !== 'head' || get.kind !== 'audio') assert.fail(`${head.kind}, ${get.kind}`);
    assert.equal(head.bytes, get.wav.length, 'the length a GET gets');
    assert.equal(head.frames, 2000);
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('decodes no block whose request was given up while it waited for its turn (a seek moved the player on)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-given-up-'));
    let reads = 0;
    let open!: () => void;
    const gate = new Promise<void>((ok) => (open = ok));
    const { copies, job } = await keptCopy(dir, async (...args) => {
      reads++;
      await gate;
      return readListeningCopy(...args);
    });
    const busy = Array.from({ length: LISTEN_DECODES }, (_, i) => copies.read(job.id, 0, i * 100, 100));
    const seek = new AbortController();
    const waiting = [0, 1, 2].map((i) => copies.read(job.id, 0, 10_000 + i * 100, 100, seek.signal));
    seek.abort();
    open();
    const answers = await Promise.all([...busy, ...waiting]);
    assert.deepEqual(
      answers.map((a) => a.kind),
      [...busy.map(() => 'audio'), 'not-ready', 'not-ready', 'not-ready'],
    );
    assert.equal(reads, LISTEN_DECODES, 'only the blocks still wanted were decoded');
    assert.equal((await copies.read(job.id, 0, 10_000, 100)).kind, 'audio', 'and the turns are free again');
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  test('decodes a few blocks at a time however many are asked for at once, and answers them all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-listen-many-'));
    let reading = 0;
    let most = 0;
    const { copies, job } = await keptCopy(dir, async (...args) => {
      most = Math.max(most, ++reading);
      try {
        return await readListeningCopy(...args);
      } finally {
        reading--;
      }
    });
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => copies.read(job.id, 0, i * 2000, 2000)));
    assert.deepEqual(
      answers.map((a) => a.kind),
      answers.map(() => 'audio'),
    );
    assert.ok(most <= LISTEN_DECODES, `${most} blocks were decoded at once`);
    await copies.dispose();
    await rm(dir, { recursive: true, force: true });
  });
});
