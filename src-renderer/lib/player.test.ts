// The player's Web Audio graph on a stand-in AudioContext that records what is scheduled: blocks of the render
// heard played back to back, a new render started where the old one is with a crossfade, stretchers fed in order,
// loops, the count-in, and only a window of the song held.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AHEAD_SECONDS, BEHIND_SECONDS, BLOCK_SECONDS, START_LATENCY_S, StemPlayer } from './player.ts';
import { CROSSFADE_S, gainAt } from './crossfade.ts';
import {
  FakeContext,
  FakeGain,
  LongSource,
  MemorySource,
  RATE,
  stretchFactory,
  type FakeSource,
  type FakeStretch,
} from './player-fakes.ts';

const SONG_FRAMES = 10 * RATE;

async function opened(
  stems: string[],
  source = new MemorySource(SONG_FRAMES, stems),
  create?: ReturnType<typeof stretchFactory>,
) {
  const ctx = new FakeContext();
  const player = new StemPlayer(ctx as unknown as AudioContext, create ?? null);
  await player.open(source, source.view(1));
  await player.settled();
  return { ctx, player, source };
}

async function playing(stems: string[], source?: MemorySource) {
  const o = await opened(stems, source);
  o.ctx.currentTime = 1;
  await o.player.play();
  o.ctx.currentTime = 3;
  return o;
}

/** Advances the context clock and lets the player catch up (read, schedule). */
async function at(ctx: FakeContext, player: StemPlayer, time: number) {
  ctx.currentTime = time;
  player.pump();
  await player.settled();
}

const fadeOf = (s: FakeSource) => s.outputs[0] as FakeGain;
/** The sources of one stem of one render, in the order they were made. */
const live = (ctx: FakeContext, stem: number, revision: number) =>
  ctx.sources.filter((s) => s.plays.stem === stem && s.plays.revision === revision);
/** The source of a stem and render that plays context time t. */
const sounding = (ctx: FakeContext, stem: number, revision: number, t: number) =>
  live(ctx, stem, revision).find((s) => s.startedAt! <= t + 1e-9 && t < s.endsAt - 1e-9)!;

describe('StemPlayer blocks', () => {
  test('plays the blocks back to back: each starts at the context time the one before ends, from the next frame', async () => {
    const { ctx, player } = await playing(['vocals', 'drums']);
    await at(ctx, player, 4);
    for (const stem of [0, 1]) {
      const parts = live(ctx, stem, 1);
      assert.ok(parts.length >= 2, `more than one block scheduled (${parts.length})`);
      assert.deepEqual([parts[0].plays.from, parts[0].startedAt], [0, 1.05]);
      for (let i = 1; i < parts.length; i++) {
        assert.equal(parts[i].plays.from, parts[i - 1].plays.to, 'the next frame');
        assert.ok(
          Math.abs(parts[i].startedAt! - parts[i - 1].endsAt) < 1e-9,
          `block ${i} starts as block ${i - 1} ends`,
        );
        assert.equal(parts[i].plays.from % (BLOCK_SECONDS * RATE), 0, 'joins fall on block boundaries');
      }
    }
    player.pause();
  });

  test('holds only a window around the playhead while playing through a two-hour song', async () => {
    const hours = 2 * 3600 * RATE;
    const source = new LongSource(hours, ['vocals', 'drums', 'bass', 'other']);
    const ctx = new FakeContext();
    const player = new StemPlayer(ctx as unknown as AudioContext);
    await player.open(source, {
      revision: 0,
      sampleRate: RATE,
      frames: hours,
      readyFrames: hours,
      sources: source.sources,
    });
    await player.play();
    const bound = (AHEAD_SECONDS + BEHIND_SECONDS + 2 * BLOCK_SECONDS) * RATE;
    let most = 0;
    for (let t = 0; t < 2 * 3600; t += 2) {
      await at(ctx, player, t);
      most = Math.max(most, player.held().frames);
      assert.ok(player.held().frames <= bound, `at ${t} s it holds ${player.held().frames} frames, more than ${bound}`);
    }
    assert.ok(player.position > 2 * 3600 - 4, `played through: ${player.position}`);
    assert.ok(most >= AHEAD_SECONDS * RATE, 'it did read ahead');
    player.pause();
  });

  test('a seek lets go of the blocks held and reads the ones at the new place first', async () => {
    const { ctx, player, source } = await playing(['bass'], new MemorySource(60 * RATE, ['bass']));
    source.asked = [];
    player.seek(37.3);
    assert.equal(source.asked[0].from, 36 * RATE, 'the block holding 37.3 s (blocks of 2 s) first');
    await player.settled();
    assert.ok(
      player.held().frames <= (AHEAD_SECONDS + BEHIND_SECONDS + 2 * BLOCK_SECONDS) * RATE,
      `${player.held().frames}`,
    );
    assert.ok(
      source.asked.every((a) => a.from >= 36 * RATE),
      'nothing from before the new place',
    );
    await at(ctx, player, 3.5);
    assert.ok(
      ctx.sources.some((s) => s.plays.from === 3730 && s.startedAt! > 3),
      'plays from 37.3 s',
    );
    player.pause();
  });
});

describe('StemPlayer switching to another render', () => {
  test('starts the new render at the song position the old one has reached, crossfading without a gap', async () => {
    const { ctx, player, source } = await playing(['vocals', 'drums']);
    const previous = player.switchTo(source.view(2));
    assert.equal(previous?.revision, 1);
    await player.settled();
    for (const stem of [0, 1]) {
      const [next] = live(ctx, stem, 2);
      const when = next.startedAt!;
      assert.ok(when >= ctx.currentTime, 'the new render starts in the future');
      // Played since 1.05 (start latency), so at `when` the song is at when - 1.05 seconds.
      assert.ok(Math.abs(next.plays.from / RATE - (when - 1.05)) < 1e-9, 'same song position');
      const old = sounding(ctx, stem, 1, when);
      assert.ok(Math.abs(old.stoppedAt! - (when + CROSSFADE_S)) < 1e-9, 'the old one plays on until its fade ends');
      for (const later of live(ctx, stem, 1).filter((s) => s.startedAt! > when))
        assert.ok(later.stoppedAt! <= later.startedAt!, 'later old blocks never start');
      const inPts = fadeOf(next).gain.points(),
        outPts = fadeOf(old).gain.points();
      assert.equal(gainAt(inPts, when), 0);
      assert.equal(gainAt(outPts, when), 1);
      for (let t = when - 0.01; t < when + 0.05; t += 0.002) {
        assert.ok(Math.abs(gainAt(inPts, t) + gainAt(outPts, t) - 1) < 1e-9, `gains sum to 1 at ${t}`);
      }
      assert.equal(fadeOf(next).outputs[0], fadeOf(old).outputs[0], 'both go through the stem strip (its mixer gain)');
      const parts = live(ctx, stem, 2);
      assert.ok(
        parts.length >= 2 && Math.abs(parts[1].startedAt! - parts[0].endsAt) < 1e-9,
        'the new render goes on block after block',
      );
    }
    assert.equal(player.revision, 2);
    player.pause();
  });

  test('asks for the new render from the playhead to the end of its block first (the least to render before it is heard), and is heard as soon as that arrives', async () => {
    const { ctx, player, source } = await playing(['vocals', 'drums']);
    await at(ctx, player, 4);
    await at(ctx, player, 5.2);
    source.gate = true;
    source.asked = [];
    let heardAt: number | null = null;
    player.onSwitch = (_r, when) => (heardAt = when);
    player.switchTo(source.view(2));
    assert.deepEqual(
      source.asked[0],
      { revision: 2, from: 420, frames: 6 * RATE - 420 },
      'from 4.2 s (where the playhead is once a swap can start) to the end of the block holding it',
    );
    assert.deepEqual(
      source.asked[1],
      { revision: 2, from: 6 * RATE, frames: BLOCK_SECONDS * RATE },
      'the next block whole',
    );
    source.gate = false;
    source.release();
    // Only that block has arrived when the switch happens.
    await new Promise((r) => setImmediate(r));
    assert.ok(heardAt !== null, 'switched once its first block arrived');
    await player.settled();
    player.pause();
  });

  test('asks first for the block the playhead will be in once the new render arrives (as long as the last one took), and switches the moment the playhead reaches it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { ctx, player, source } = await playing(['vocals']);
    // A first change whose block took 0.4 s to come: the wait expected for the next.
    source.gate = true;
    player.switchTo(source.view(2));
    ctx.currentTime = 3.4;
    source.gate = false;
    source.release();
    await player.settled();
    assert.equal(player.revision, 2);
    // At 3.65 s of the song (the block from 2 s ends at 4 s), a swap can start 0.05 s on: its block arrives ~0.4 s
    // later, when the playhead is past 4 s.
    await at(ctx, player, 4.7);
    // The app renders one block at a time, in the order asked: the block at the playhead, asked next, comes later.
    const read = source.read.bind(source);
    let later = () => {};
    source.read = async (revision, from, frames, signal) => {
      if (revision === 3 && from < 4 * RATE) await new Promise<void>((r) => (later = r));
      return read(revision, from, frames, signal);
    };
    source.gate = true;
    source.asked = [];
    player.switchTo(source.view(3));
    assert.deepEqual(
      source.asked[0],
      { revision: 3, from: 4 * RATE, frames: BLOCK_SECONDS * RATE },
      `the block from 4 s, whole, first (asked ${JSON.stringify(source.asked)})`,
    );
    // It comes sooner than expected, at 3.8 s of the song: the old render plays on to 4 s, then the new one.
    ctx.currentTime = 4.85;
    source.gate = false;
    source.release();
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    assert.equal(player.held().frames > 0 && player.revision, 2, 'not before the playhead is there');
    ctx.currentTime = 4.95;
    t.mock.timers.tick(100);
    assert.equal(player.revision, 2);
    ctx.currentTime = 5;
    t.mock.timers.tick(50);
    assert.equal(player.revision, 3, 'switched as the playhead reaches it, not at the next pump');
    const [next] = live(ctx, 0, 3);
    assert.equal(next.plays.from, 400);
    assert.ok(Math.abs(next.startedAt! - 5.05) < 1e-9, `starts as the song reaches 4 s: ${next.startedAt}`);
    assert.ok(Math.abs(sounding(ctx, 0, 2, 5.04).stoppedAt! - (5.05 + CROSSFADE_S)) < 1e-9, 'crossfading');
    later();
    await player.settled();
    player.pause();
  });

  test("asks for a re-render's block at the playhead before its final frames reach it (the app renders it on demand)", async () => {
    const { ctx, player, source } = await playing(['vocals', 'drums']);
    await at(ctx, player, 4);
    await at(ctx, player, 6.2);
    source.ready.set(2, 0);
    source.onDemand.add(2);
    source.asked = [];
    player.switchTo(source.view(2));
    await player.settled();
    assert.deepEqual(
      source.asked[0],
      { revision: 2, from: 520, frames: 6 * RATE - 520 },
      'from 5.2 s to the end of its block',
    );
    assert.equal(player.revision, 2, 'heard at once, not once the re-render has reached the playhead');
    assert.ok(live(ctx, 0, 2).length > 0);
    player.pause();
  });

  test('reads the rest of the block it began from the playhead, so a step back plays the new render', async () => {
    const { ctx, player, source } = await playing(['vocals']);
    await at(ctx, player, 4);
    await at(ctx, player, 5.2);
    source.asked = [];
    player.switchTo(source.view(2));
    await player.settled();
    assert.equal(player.revision, 2);
    player.seek(4.1);
    await player.settled();
    assert.ok(
      source.asked.some((a) => a.revision === 2 && a.from === 4 * RATE && a.frames === BLOCK_SECONDS * RATE),
      `asked ${JSON.stringify(source.asked)}`,
    );
    await at(ctx, player, 5.4);
    assert.ok(
      live(ctx, 0, 2).some((s) => s.plays.from === 410),
      'plays from 4.1 s',
    );
    player.pause();
  });

  test('keeps reading the new render when the app names it again before it is heard (more of it final)', async () => {
    // The app passes on every report of a running re-render: the block on its way must not be asked for anew.
    const { ctx, player, source } = await playing(['vocals', 'drums']);
    await at(ctx, player, 5.2);
    source.ready.set(2, 0);
    source.onDemand.add(2);
    source.gate = true;
    source.asked = [];
    player.switchTo(source.view(2));
    source.ready.set(2, 100);
    player.switchTo(source.view(2));
    player.update(source.view(2));
    const playhead = source.asked.filter((a) => a.revision === 2 && a.from <= 420 && 420 < a.from + a.frames);
    assert.equal(playhead.length, 1, `asked ${JSON.stringify(source.asked)}`);
    source.gate = false;
    source.release();
    await player.settled();
    assert.equal(player.revision, 2);
    player.pause();
  });

  test('a control dragged through many renders reads only the newest: the reads of those it passed are aborted', async () => {
    const { ctx, player, source } = await playing(['vocals', 'drums']);
    await at(ctx, player, 4);
    source.gate = true;
    const reads: { revision: number; signal: AbortSignal }[] = [];
    const read = source.read.bind(source);
    source.read = (revision, from, frames, signal) => {
      reads.push({ revision, signal: signal! });
      return read(revision, from, frames, signal);
    };
    for (const revision of [2, 3, 4, 5, 6]) player.switchTo(source.view(revision));
    const open = reads.filter((r) => !r.signal.aborted);
    assert.ok(
      open.every((r) => r.revision === 6 || r.revision === 1),
      `still reading ${JSON.stringify(open.map((r) => r.revision))}`,
    );
    assert.ok(open.length <= 2, `${open.length} reads at once`);
    source.gate = false;
    source.release();
    await player.settled();
    assert.equal(player.revision, 6);
    player.pause();
  });

  test('a playhead moved while the new render is on its way re-prioritises: its block at the new place comes first', async () => {
    const { ctx, player, source } = await playing(['bass']);
    source.gate = true;
    player.switchTo(source.view(2));
    source.asked = [];
    player.seek(8.5);
    assert.deepEqual(
      source.asked.find((a) => a.revision === 2),
      { revision: 2, from: 8 * RATE, frames: BLOCK_SECONDS * RATE },
    );
    source.gate = false;
    source.release();
    await player.settled();
    await at(ctx, player, 3.2);
    assert.equal(player.revision, 2);
    assert.ok(
      live(ctx, 0, 2).some((s) => s.plays.from === 850),
      'the new render plays from 8.5 s',
    );
    player.pause();
  });

  test('a second switch during the first crossfade fades the newer voice out from the gain it had reached', async () => {
    const { ctx, player, source } = await playing(['vocals']);
    player.switchTo(source.view(2)); // B starts at 3.05, fading in until 3.08
    await player.settled();
    ctx.currentTime = 3.01;
    const mark = ctx.sources.length;
    player.switchTo(source.view(1)); // back to A at 3.06, B one third in
    await player.settled();
    const [b] = live(ctx, 0, 2);
    const a2 = ctx.sources.slice(mark).find((s) => s.plays.revision === 1)!;
    const a1 = sounding(ctx, 0, 1, 3.05);
    const when = a2.startedAt!;
    assert.ok(Math.abs(when - 3.06) < 1e-9, `${when}`);
    const gains = [a1, b, a2].map((s) => fadeOf(s).gain.points());
    assert.ok(
      Math.abs(gainAt(gains[1], when) - 1 / 3) < 1e-9,
      `B fades out from ${gainAt(gains[1], when)}, not from full gain`,
    );
    for (const t of [when, when + 0.01, when + 0.02, when + CROSSFADE_S, when + 0.1]) {
      const total = gains.reduce((sum, g) => sum + gainAt(g, t), 0);
      assert.ok(total <= 1 + 1e-9 && total > 0.6, `the three voices sum to ${total} at ${t}`);
    }
    assert.ok(
      Math.abs(gains.reduce((sum, g) => sum + gainAt(g, when + 0.1), 0) - 1) < 1e-9,
      'only the new A is left, at full gain',
    );
    player.pause();
  });

  test('adds a stem the new render has (the residual) fading in at the playhead, and fades out and drops one it lacks', async () => {
    const { ctx, player, source } = await playing(['vocals', 'other']);
    source.sourcesOf.set(2, ['vocals', 'other', 'residual']);
    player.switchTo(source.view(2, ['vocals', 'other', 'residual']));
    await player.settled();
    assert.deepEqual(player.stems, ['vocals', 'other', 'residual']);
    const [res] = live(ctx, 2, 2);
    const [vocals] = live(ctx, 0, 2);
    assert.equal(res.startedAt, vocals.startedAt);
    assert.equal(res.plays.from, vocals.plays.from);
    assert.equal(gainAt(fadeOf(res).gain.points(), res.startedAt!), 0, 'fades in from silence');

    await at(ctx, player, 4);
    const back = player.switchTo(source.view(3));
    assert.deepEqual(back?.sources, ['vocals', 'other', 'residual'], 'the A/B record keeps the residual');
    await player.settled();
    assert.deepEqual(player.stems, ['vocals', 'other']);
    const when = live(ctx, 0, 3)[0].startedAt!;
    const resThen = sounding(ctx, 2, 2, when);
    assert.ok(Math.abs(resThen.stoppedAt! - (when + CROSSFADE_S)) < 1e-9);
    assert.equal(gainAt(fadeOf(resThen).gain.points(), resThen.stoppedAt!), 0, 'silent when it stops');
    player.pause();
  });

  test('while paused switches at once, and play starts the new render from the paused position', async () => {
    const { ctx, player, source } = await playing(['bass']);
    player.pause();
    const before = ctx.sources.length;
    player.switchTo(source.view(2));
    await player.settled();
    assert.equal(ctx.sources.length, before, 'nothing starts while paused');
    await player.play();
    const [next] = live(ctx, 0, 2);
    assert.equal(next.plays.from, 195);
    player.pause();
  });
});

describe('StemPlayer while the render is still written', () => {
  test('never plays a frame that is not final, waits at the end of those, and goes on as more become final', async () => {
    const source = new MemorySource(SONG_FRAMES, ['vocals', 'drums']);
    source.ready.set(1, 250);
    const { ctx, player } = await opened(['vocals', 'drums'], source);
    await player.play();
    await at(ctx, player, 1);
    await at(ctx, player, 4);
    assert.ok(ctx.sources.length > 0);
    for (const s of ctx.sources)
      assert.ok(s.plays.to <= 250, `plays ${s.plays.from}..${s.plays.to}, past the 250 final frames`);
    assert.ok(
      Math.abs(player.position - 2.5) < 1e-9,
      `the playhead waits at the end of what is final: ${player.position}`,
    );
    assert.equal(player.isPlaying, true);

    source.ready.set(1, 700);
    player.update(source.view(1));
    await player.settled();
    await at(ctx, player, 4.01);
    const after = ctx.sources.filter((s) => s.plays.from >= 250);
    assert.equal(after[0]?.plays.from, 250, 'goes on from the frame it stopped at');
    assert.ok(after[0].startedAt! >= 4.01, 'not in the past');
    for (const s of ctx.sources) assert.ok(s.plays.to <= 700);
    await at(ctx, player, 5);
    assert.ok(Math.abs(player.position - (2.5 + 5 - after[0].startedAt!)) < 1e-9, `${player.position}`);
    player.pause();
  });

  test('opens a finished render whose listening copy was dropped: asks for it at once and plays it once it is back', async () => {
    // The app drops the copies of songs not listened to beyond a cap (readyFrames 0 again) and writes one again from
    // the song's stems when a block of it is asked for; the render itself is complete.
    const source = new MemorySource(SONG_FRAMES, ['vocals']);
    source.ready.set(0, 0);
    const ctx = new FakeContext();
    const player = new StemPlayer(ctx as unknown as AudioContext, null);
    const opening = player.open(source, { ...source.view(0), complete: true });
    await player.settled();
    assert.ok(
      source.asked.some((a) => a.revision === 0 && a.from === 0),
      `asked ${JSON.stringify(source.asked)}`,
    );
    assert.equal(player.readySeconds, SONG_FRAMES / RATE, 'the whole song can be played');
    source.ready.set(0, 700);
    player.update({ ...source.view(0), complete: true });
    await opening;
    await player.play();
    await at(ctx, player, 1);
    assert.ok(
      ctx.sources.some((x) => x.plays.from === 0),
      'plays from the start once the copy is back',
    );
    player.pause();
  });

  test('play pressed before the first block has come waits for it, the playhead at 0, and starts the moment it is held', async () => {
    const source = new MemorySource(SONG_FRAMES, ['vocals', 'drums']);
    source.gate = true;
    const ctx = new FakeContext();
    const player = new StemPlayer(ctx as unknown as AudioContext, null);
    const opening = player.open(source, source.view(1));
    ctx.currentTime = 1;
    await player.play();
    assert.equal(player.isPlaying, true, 'shown as playing (waiting for sound)');
    // Not `at`: settling would wait for the block held back.
    ctx.currentTime = 2.5;
    player.pump();
    assert.equal(ctx.sources.length, 0, 'nothing scheduled before a block is held');
    assert.equal(player.position, 0, 'the playhead waits at the start');
    source.gate = false;
    source.release();
    await opening;
    await player.settled();
    const first = ctx.sources.filter((s) => s.plays.from === 0);
    assert.equal(first.length, 2, 'both stems start from frame 0');
    for (const s of first) assert.ok(Math.abs(s.startedAt! - (2.5 + START_LATENCY_S)) < 1e-9, `${s.startedAt}`);
    await at(ctx, player, 3.5);
    assert.ok(Math.abs(player.position - (1 - START_LATENCY_S)) < 1e-9, `${player.position}`);
    player.pause();
    assert.equal(player.isPlaying, false);
  });

  test('asks again after a "not ready" answer only once more frames are final', async () => {
    const source = new MemorySource(SONG_FRAMES, ['vocals']);
    source.ready.set(1, 200);
    const { ctx, player } = await opened(['vocals'], source);
    await player.play();
    await at(ctx, player, 3);
    const asked = source.asked.length;
    source.asked = [];
    await at(ctx, player, 3.5);
    assert.deepEqual(source.asked, [], 'nothing more is asked while nothing more is final');
    source.ready.set(1, 400);
    player.update(source.view(1));
    await player.settled();
    assert.ok(
      source.asked.some((a) => a.from === 200 && a.frames === 200),
      `asked ${JSON.stringify(source.asked)} after ${asked}`,
    );
    player.pause();
  });
});

describe('StemPlayer when a block cannot be read', () => {
  test('reports the failure once and asks again only once more is final or the playhead moves', async (t) => {
    // Its retries wait on timers that this test does not let run.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const source = new MemorySource(SONG_FRAMES, ['vocals']);
    const { ctx, player } = await opened(['vocals'], source);
    const errors: unknown[] = [];
    player.onError = (e) => void errors.push(e);
    const read = source.read.bind(source);
    let failed = 0;
    source.read = async (revision, from, frames, signal) => {
      if (from >= 800) failed++;
      if (from >= 800) throw new Error(`frame ${from}: refused`);
      return read(revision, from, frames, signal);
    };
    await player.play();
    for (const t of [1, 3, 5, 7, 9, 11]) await at(ctx, player, t);
    assert.ok(Math.abs(player.position - 8) < 1e-9, `waits where the blocks read end: ${player.position}`);
    player.pause();
    assert.ok(failed <= 2, `asked ${failed} times for blocks that fail`);
    assert.ok(errors.length >= 1 && errors.length <= failed, `${errors.length} failures reported`);
    const before = failed;
    player.seek(9);
    await player.settled();
    assert.ok(failed > before, 'a seek asks again');
  });
});

describe('StemPlayer when a finished render is not there when asked', () => {
  test('asks again less and less often (never in a tight loop), says why once it keeps failing, and plays once it is back', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    // The app dropped the song's copy just as the player asked: the render is complete, so nothing more will become
    // final to make the player ask again; it must try again by itself.
    const source = new MemorySource(SONG_FRAMES, ['vocals']);
    source.ready.set(0, 0);
    const ctx = new FakeContext();
    const player = new StemPlayer(ctx as unknown as AudioContext, null);
    const errors: unknown[] = [];
    player.onError = (e) => void errors.push(e);
    let opened = false;
    void player.open(source, { ...source.view(0), complete: true }).then(() => (opened = true));
    await player.settled();
    const first = source.asked.filter((a) => a.from === 0).length;
    assert.equal(first, 1);
    for (let i = 0; i < 300; i++) {
      t.mock.timers.tick(100);
      await player.settled();
    }
    const again = source.asked.filter((a) => a.from === 0).length;
    assert.ok(again > 2, `asked ${again} times in 30 s`);
    assert.ok(again < 30, `asked ${again} times in 30 s: it should back off`);
    assert.ok(errors.length >= 1, 'says that the audio keeps failing to come');
    assert.match(String((errors[0] as Error).message), /not rendered yet/, 'with the reason the app gave');
    source.ready.set(0, SONG_FRAMES);
    for (let i = 0; i < 100 && !opened; i++) {
      t.mock.timers.tick(100);
      await player.settled();
    }
    assert.ok(opened, 'plays once its copy is back');
    player.unload();
  });
});

async function stretchable(stems: string[]) {
  const made: FakeStretch[] = [];
  const source = new MemorySource(SONG_FRAMES, stems);
  const o = await opened(stems, source, stretchFactory(made));
  return { ...o, stretchers: made };
}

/** The song second a stretcher's input time stands for: its input starts at the first frame it was given. */
const songSeconds = (s: FakeStretch, input: number) => s.held[0].frame / RATE + input;

describe('StemPlayer tempo and key', () => {
  test('plays each stem through its stretcher at another tempo, fed the blocks in order, the playhead at that tempo', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals', 'drums']);
    await player.setTimePitch({ tempo: 0.5, semitones: 0 });
    ctx.currentTime = 1;
    await player.play();
    assert.equal(ctx.sources.length, 0, 'no plain buffer plays');
    assert.equal(stretchers.length, 2);
    const start = stretchers[0].last;
    assert.equal(start.active, true);
    assert.equal(start.input, 0);
    assert.equal(start.rate, 0.5);
    assert.ok(start.output! >= 1 + stretchers[0].latencySeconds, 'starts once its latency is waited out');
    for (const s of stretchers) {
      assert.deepEqual(
        s.held.map((h) => [h.frame, h.revision]),
        [[0, 1]],
        'one buffer, from the start',
      );
      assert.equal(s.held[0].frames, AHEAD_SECONDS * RATE, 'as far ahead as the window reaches');
    }
    ctx.currentTime = start.output! + 2;
    assert.ok(
      Math.abs(player.position - 1) < 1e-9,
      `two seconds at half speed are one song second, not ${player.position}`,
    );
    player.pause();
  });

  test('keeps the stretchers given one buffer around the playhead, moving it along as the song plays', async () => {
    const made: FakeStretch[] = [];
    const source = new MemorySource(60 * RATE, ['bass']);
    const { ctx, player } = await opened(['bass'], source, stretchFactory(made));
    await player.setTimePitch({ tempo: 1.5, semitones: 0 });
    await player.play();
    const [stretch] = made;
    let moved = 0;
    for (let t = 0.5; t < 30; t += 0.25) {
      await at(ctx, player, t);
      if (player.position >= 58) break;
      // The stretcher reads across two of its buffers wrongly: it never holds more than one.
      assert.equal(stretch.held.length, 1, `at ${t} s it holds ${stretch.held.length} buffers`);
      const [h] = stretch.held;
      const pos = player.position * RATE;
      assert.ok(
        h.frame <= pos && pos < h.frame + h.frames,
        `the playhead (${pos}) is in what it holds (${h.frame}..${h.frame + h.frames})`,
      );
      assert.ok(
        pos - h.frame <= (8 + BEHIND_SECONDS + BLOCK_SECONDS) * RATE,
        `nothing far behind: from ${h.frame} at ${pos}`,
      );
      assert.ok(h.frames <= (8 + BEHIND_SECONDS + BLOCK_SECONDS + 1.5 * AHEAD_SECONDS) * RATE, `${h.frames} frames`);
      if (h.frame > 0 && stretch.last.input !== undefined && stretch.last.output === ctx.currentTime) {
        moved++;
        assert.ok(
          Math.abs(h.frame / RATE + stretch.last.input - player.position) < 1e-9,
          'told the same song position in its new input times',
        );
      }
    }
    assert.ok(moved > 0, 'its samples moved up with the playhead');
    player.pause();
  });

  test('glides the playing stretchers to a new tempo and key without restarting them', async () => {
    const { ctx, player, stretchers } = await stretchable(['bass']);
    await player.setTimePitch({ tempo: 0.5, semitones: 0 });
    await player.play();
    const started = stretchers[0].last.output!;
    ctx.currentTime = started + 2; // song position 1
    await player.setTimePitch({ tempo: 1.5, semitones: -3 });
    assert.equal(stretchers.length, 1, 'the same stretcher');
    const glide = stretchers[0].changes.find((c) => c.rate === 1.5)!;
    assert.deepEqual(glide, { output: started + 2, rate: 1.5, semitones: -3 });
    ctx.currentTime = started + 4;
    assert.ok(Math.abs(player.position - 4) < 1e-9, `1 + 2 seconds at 1.5: ${player.position}`);
    player.pause();
  });

  test('crossfades between the plain blocks and the stretchers at the same song position, both ways', async () => {
    const { ctx, player, stretchers } = await stretchable(['other']);
    await player.play(); // plain, from 0.05
    ctx.currentTime = 2;
    await player.setTimePitch({ tempo: 0.8, semitones: 2 });
    const start = stretchers[0].changes.find((c) => c.active)!;
    assert.ok(start.output! >= 2 + stretchers[0].latencySeconds);
    assert.ok(
      Math.abs(songSeconds(stretchers[0], start.input!) - (start.output! - 0.05)) < 1e-9,
      'from where the plain blocks are then',
    );
    assert.deepEqual([start.rate, start.semitones, start.active], [0.8, 2, true]);
    const plain = sounding(ctx, 0, 1, start.output!);
    assert.ok(
      Math.abs(plain.stoppedAt! - (start.output! + CROSSFADE_S)) < 1e-9,
      'the plain one plays on until its fade ends',
    );

    ctx.currentTime = 3;
    const songAt = player.position;
    const before = ctx.sources.length;
    await player.setTimePitch({ tempo: 1, semitones: 0 });
    const back = ctx.sources[before];
    assert.ok(back.startedAt! > 3);
    assert.ok(
      Math.abs(back.plays.from / RATE - (songAt + (back.startedAt! - 3) * 0.8)) < 0.5 / RATE,
      'continues at the stretched position',
    );
    assert.deepEqual(stretchers[0].last, { active: false, output: back.startedAt! + CROSSFADE_S });
    player.pause();
  });

  test('at tempo 1 and 0 semitones plays the plain blocks and makes no stretcher', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals']);
    await player.setTimePitch({ tempo: 1, semitones: 0 });
    await player.play();
    assert.equal(stretchers.length, 0);
    assert.ok(ctx.sources.length >= 1);
    player.pause();
  });
});

describe('StemPlayer tempo and key with a new render', () => {
  test('hands a new render to the playing stretchers in place, starting no plain buffer', async () => {
    const { ctx, player, stretchers, source } = await stretchable(['vocals']);
    await player.setTimePitch({ tempo: 0.8, semitones: 0 });
    await player.play();
    await at(ctx, player, 2);
    player.switchTo(source.view(2));
    await player.settled();
    assert.equal(ctx.sources.length, 0);
    assert.equal(stretchers.length, 1);
    assert.deepEqual(
      stretchers[0].held.map((h) => h.revision),
      stretchers[0].held.map(() => 2),
      'holds only the new render',
    );
    const seat = stretchers[0].last;
    assert.ok(Math.abs(songSeconds(stretchers[0], seat.input!) - player.position) < 0.1, 'at the playhead');
    player.pause();
  });

  test('gives a new render to the stretcher it has while paused, rather than making another', async () => {
    const { player, stretchers, source } = await stretchable(['bass']);
    await player.setTimePitch({ tempo: 0.9, semitones: 0 });
    await player.play();
    player.pause();
    player.switchTo(source.view(2));
    await player.settled();
    await player.play();
    await player.settled();
    player.pump();
    assert.equal(stretchers.length, 1, 'no second stretcher');
    assert.ok(stretchers[0].held.length > 0 && stretchers[0].held.every((h) => h.revision === 2));
    assert.equal(stretchers[0].last.active, true);
    player.pause();
  });
});

describe('StemPlayer seeking while stretched', () => {
  test('moves the playing stretchers to the new position in place', async () => {
    const { ctx, player, stretchers } = await stretchable(['drums', 'bass']);
    await player.setTimePitch({ tempo: 1.2, semitones: 1 });
    await player.play();
    await player.settled();
    ctx.currentTime = 5;
    player.seek(7);
    await player.settled();
    player.pump();
    for (const s of stretchers) {
      const move = s.changes.find((c) => c.output === 5 && c.input !== undefined)!;
      assert.deepEqual(
        { ...move, input: songSeconds(s, move.input!) },
        { output: 5, input: 7, loopStart: 0, loopEnd: 0 },
      );
    }
    assert.equal(player.position, 7);
    ctx.currentTime = 6;
    assert.ok(Math.abs(player.position - 8.2) < 1e-9, `one second at 120 % later: ${player.position}`);
    player.pause();
  });
});

describe('StemPlayer loop', () => {
  test('loops the blocks over the region, sample-accurately, and reports the wrapped position', async () => {
    const { ctx, player } = await playing(['vocals', 'drums']);
    player.pause();
    player.seek(1);
    player.setLoop({ start: 2, end: 4 });
    ctx.currentTime = 10;
    await player.play();
    await player.settled();
    const mark = ctx.sources.length;
    await at(ctx, player, 12);
    for (const stem of [0, 1]) {
      const parts = live(ctx, stem, 1).filter((s) => s.startedAt! >= 10);
      assert.equal(parts[0].plays.from, 100);
      const toEnd = parts.find((s) => s.plays.to === 400)!;
      const wrapped = parts[parts.indexOf(toEnd) + 1];
      assert.equal(wrapped.plays.from, 200, 'back at the loop start');
      assert.ok(Math.abs(wrapped.startedAt! - toEnd.endsAt) < 1e-9, 'the moment the loop end is played');
      assert.ok(
        parts.every((s) => s.plays.to <= 400),
        'nothing past the loop end',
      );
    }
    assert.ok(ctx.sources.length > mark, 'kept scheduling the loop');
    const startedAt = ctx.sources.find((s) => s.startedAt! >= 10)!.startedAt!;
    ctx.currentTime = startedAt + 2.5; // song 3.5: inside, not yet wrapped
    assert.ok(Math.abs(player.position - 3.5) < 1e-9, `${player.position}`);
    ctx.currentTime = startedAt + 3.5; // 1 + 3.5 = 4.5 → wraps to 2.5
    assert.ok(Math.abs(player.position - 2.5) < 1e-9, `wrapped to ${player.position}`);
    player.pause();
    assert.ok(Math.abs(player.position - 2.5) < 1e-9, 'paused where the loop had wrapped to');
  });

  test('clearing the loop while playing stops the wrapping: the blocks play on to the song end', async () => {
    const { ctx, player } = await playing(['bass']);
    player.setLoop({ start: 1, end: 3 });
    player.pump();
    assert.ok(
      ctx.sources.some((s) => s.plays.from === 100 && s.startedAt! > 3),
      'wrapping is scheduled',
    );
    ctx.currentTime = 5; // started at 1.05 from 0: 3.95 → wraps to 1.95
    player.pump();
    assert.ok(Math.abs(player.position - 1.95) < 1e-9, `${player.position}`);
    const mark = ctx.sources.length;
    player.setLoop(null);
    player.pump();
    const when = 5 + 0.05;
    const before = ctx.sources.slice(0, mark),
      after = ctx.sources.slice(mark);
    for (const s of before.filter((x) => x.startedAt! >= when))
      assert.ok(s.stoppedAt! <= s.startedAt!, 'the wrap scheduled before never plays');
    for (const s of before.filter((x) => x.startedAt! < when && x.endsAt > when))
      assert.ok(Math.abs(s.stoppedAt! - when) < 1e-9);
    assert.equal(after[0].startedAt, when);
    assert.equal(after[0].plays.from, 200, 'the same frame the loop would have played then (1.95 + 0.05 s)');
    assert.ok(
      after.every((s) => s.plays.from !== 100),
      'no more wrapping',
    );
    ctx.currentTime = 7;
    assert.ok(Math.abs(player.position - 3.95) < 1e-9, `plays on past the old loop end: ${player.position}`);
    player.pause();
  });

  test('a looping song is not stopped by the end of the song timer', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { ctx, player } = await playing(['bass']);
    let ended = 0;
    player.onEnded = () => void ended++;
    player.setLoop({ start: 1, end: 3 });
    for (let s = 4; s <= 30; s++) {
      ctx.currentTime = s;
      t.mock.timers.tick(1000);
    }
    assert.equal(ended, 0);
    assert.equal(player.isPlaying, true);
    player.setLoop(null);
    for (let s = 31; s <= 45; s++) {
      ctx.currentTime = s;
      t.mock.timers.tick(1000);
      await player.settled();
    }
    assert.equal(ended, 1, 'without the loop the song ends');
  });

  test('a seek outside the loop plays on from there and wraps at the loop end; a seek past it plays to the end', async () => {
    const { ctx, player } = await playing(['bass']);
    player.setLoop({ start: 4, end: 6 });
    const mark = ctx.sources.length;
    player.seek(0.5);
    for (const t of [3.01, 4, 5, 6, 7]) await at(ctx, player, t);
    const run = ctx.sources.slice(mark);
    assert.equal(run[0].plays.from, 50);
    const toEnd = run.findIndex((s) => s.plays.to === 600);
    assert.ok(toEnd >= 0 && run[toEnd + 1].plays.from === 400, 'wraps at 6 s');
    assert.ok(run.every((s) => s.plays.to <= 600));
    await at(ctx, player, 8);
    const mark2 = ctx.sources.length;
    player.seek(8);
    await at(ctx, player, 8.01);
    const after = ctx.sources.slice(mark2);
    assert.equal(after[0].plays.from, 800);
    assert.ok(!after.some((s) => s.plays.from === 400), 'no wrap');
    ctx.currentTime = 9;
    assert.ok(player.position > 8, `plays on from 8: ${player.position}`);
    player.pause();
  });

  test('loops the stretchers over the region, the position wrapping at their tempo', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals', 'drums']);
    await player.setTimePitch({ tempo: 0.5, semitones: 0 });
    player.setLoop({ start: 1, end: 2 });
    await player.play();
    for (const s of stretchers) assert.deepEqual([s.last.input, s.last.loopStart, s.last.loopEnd], [0, 1, 2]);
    const started = stretchers[0].last.output!;
    ctx.currentTime = started + 5; // 2.5 song seconds → 1.5
    assert.ok(Math.abs(player.position - 1.5) < 1e-9, `${player.position}`);
    await player.setTimePitch({ tempo: 2, semitones: 0 });
    ctx.currentTime = started + 5.5; // 1.5 + 1 → 2.5 → 1.5
    assert.ok(Math.abs(player.position - 1.5) < 1e-9, `at the new tempo: ${player.position}`);
    player.setLoop(null);
    for (const s of stretchers)
      assert.deepEqual([s.last.loopStart, s.last.loopEnd], [0, 0], 'loop turned off in the stretcher');
    ctx.currentTime = started + 6.5;
    assert.ok(Math.abs(player.position - 3.5) < 1e-9, `no wrap any more: ${player.position}`);
    player.pause();
  });
});

describe('StemPlayer gains', () => {
  test('a stem a new render adds stays silent until the mixer sets its gain (a solo elsewhere holds)', async () => {
    const { ctx, player, source } = await playing(['vocals', 'other']);
    player.setGains({ vocals: 1, other: 0 });
    source.sourcesOf.set(2, ['vocals', 'other', 'residual']);
    player.switchTo(source.view(2, ['vocals', 'other', 'residual']));
    await player.settled();
    const [residual] = live(ctx, 2, 2);
    const stripGain = fadeOf(residual).outputs[0] as FakeGain;
    assert.equal(stripGain.gain.value, 0);
    player.pause();
  });
});

describe('StemPlayer count-in', () => {
  test('clicks one bar at the tempo heard, then starts the song where the bar ends, the playhead waiting until then', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals']);
    await player.setTimePitch({ tempo: 0.5, semitones: 0 });
    ctx.currentTime = 1;
    await player.play({ bpm: 120, beatsPerBar: 4 });
    const start = stretchers[0].last.output!;
    const clicks = ctx.oscillators.map((o) => o.startedAt!);
    assert.equal(clicks.length, 4);
    clicks.forEach((t, i) =>
      assert.ok(Math.abs(t - (start - 4 + i)) < 1e-9, `click ${i} at ${t}, the song at ${start}`),
    );
    assert.ok(clicks[0] >= 1, 'the first click is not in the past');
    ctx.currentTime = start - 0.5;
    assert.equal(player.position, 0, 'the playhead waits for the count-in');
    player.pause();
  });

  test('a new render switched to during the count-in starts where the song does, not over the clicks', async () => {
    const { ctx, player, source } = await opened(['bass']);
    ctx.currentTime = 1;
    await player.play({ bpm: 60, beatsPerBar: 4 });
    const songStart = live(ctx, 0, 1)[0].startedAt!;
    assert.ok(songStart > 4.9, `the song starts after the bar, at ${songStart}`);
    ctx.currentTime = 2;
    player.switchTo(source.view(2));
    await player.settled();
    const [next] = live(ctx, 0, 2);
    assert.ok(next.startedAt! >= songStart - 1e-9, `the new render starts at ${next.startedAt}, during the clicks`);
    assert.equal(next.plays.from, 0);
    ctx.currentTime = 4;
    assert.equal(player.position, 0, 'the playhead still waits for the count-in');
    player.pause();
  });

  test('pausing during the count-in silences the clicks still to come', async () => {
    const { ctx, player } = await playing(['bass']);
    player.pause();
    await player.play({ bpm: 60, beatsPerBar: 4 });
    assert.equal(ctx.oscillators.length, 4);
    ctx.currentTime += 1.5;
    player.pause();
    const toCome = ctx.oscillators.filter((o) => o.startedAt! > ctx.currentTime);
    assert.equal(toCome.length, 2);
    for (const o of toCome)
      assert.ok(o.stoppedAt! <= ctx.currentTime, `a click due at ${o.startedAt} is stopped before it sounds`);
  });
});

describe('StemPlayer end', () => {
  test('calls onEnded once the last block has played', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { ctx, player } = await opened(['bass']);
    let ended = 0;
    player.onEnded = () => void ended++;
    await player.play();
    for (let s = 1; s <= 11; s++) {
      ctx.currentTime = s;
      t.mock.timers.tick(1000);
      await player.settled();
    }
    assert.equal(ended, 1);
    assert.equal(player.position, 10);
    assert.equal(ctx.sources[ctx.sources.length - 1].plays.to, SONG_FRAMES);
  });
});
