// The player's Web Audio graph at a swap, on a stand-in AudioContext that records what is scheduled: the new
// render must start where the old one is, fade in while the old fades out, and the old stop only once silent.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { StemPlayer } from './player.ts';
import { CROSSFADE_S, gainAt, type GainPoint } from './crossfade.ts';

type Event = { kind: 'set' | 'ramp'; value: number; time: number };

class FakeParam {
  value = 1;
  events: Event[] = [];
  setValueAtTime(value: number, time: number) { this.events.push({ kind: 'set', value, time }); }
  linearRampToValueAtTime(value: number, time: number) { this.events.push({ kind: 'ramp', value, time }); }
  cancelScheduledValues(time: number) { this.events = this.events.filter((e) => e.time < time); }
  setTargetAtTime() {}
  /** The schedule as crossfade points; a param never automated holds its value. */
  points(): GainPoint[] {
    return this.events.length ? this.events.map((e) => ({ time: e.time, value: e.value })) : [{ time: 0, value: this.value }];
  }
}

class FakeNode {
  outputs: FakeNode[] = [];
  connect<T extends FakeNode>(n: T): T { this.outputs.push(n); return n; }
  disconnect() { this.outputs = []; }
}

class FakeGain extends FakeNode { gain = new FakeParam(); }
class FakeAnalyser extends FakeNode { fftSize = 0; getFloatTimeDomainData() {} }
class FakeSource extends FakeNode {
  buffer: { duration: number; id: string } | null = null;
  loop = false;
  loopStart = 0;
  loopEnd = 0;
  startedAt: number | null = null;
  offset: number | null = null;
  stoppedAt: number | null = null;
  onended: (() => void) | null = null;
  start(when: number, offset: number) { this.startedAt = when; this.offset = offset; }
  stop(when = 0) { this.stoppedAt = when; }
}

class FakeOscillator extends FakeNode {
  frequency = new FakeParam();
  startedAt: number | null = null;
  stoppedAt: number | null = null;
  start(when: number) { this.startedAt = when; }
  stop(when = 0) { this.stoppedAt = when; }
}

class FakeContext {
  currentTime = 0;
  state = 'running';
  destination = new FakeNode();
  sources: FakeSource[] = [];
  oscillators: FakeOscillator[] = [];
  createOscillator() { const o = new FakeOscillator(); this.oscillators.push(o); return o; }
  createGain() { return new FakeGain(); }
  createAnalyser() { return new FakeAnalyser(); }
  createBufferSource() { const s = new FakeSource(); this.sources.push(s); return s; }
  async resume() {}
  async close() {}
}

const buffer = (id: string) => ({ duration: 10, id }) as unknown as AudioBuffer;
const idOf = (s: FakeSource) => s.buffer?.id;

async function playing(stems: string[]) {
  const ctx = new FakeContext();
  const player = new StemPlayer(ctx as unknown as AudioContext);
  // load() fetches; the graph it builds is the same one a swap into the full set builds from nothing.
  player.swapBuffers(new Map(stems.map((s) => [s, buffer(`${s}-1`)])));
  ctx.currentTime = 1;
  await player.play();
  ctx.currentTime = 3;
  return { ctx, player };
}

const fadeOf = (s: FakeSource) => s.outputs[0] as FakeGain;
const live = (ctx: FakeContext, id: string) => ctx.sources.filter((s) => idOf(s) === id);

describe('StemPlayer.swapBuffers', () => {
  test('starts the new render at the song position the old one has reached, crossfading without a gap', async () => {
    const { ctx, player } = await playing(['vocals', 'drums']);
    const previous = player.swapBuffers(new Map([['vocals', buffer('vocals-2')], ['drums', buffer('drums-2')]]));
    assert.deepEqual([...previous.values()].map((b) => (b as unknown as { id: string }).id), ['vocals-1', 'drums-1']);
    for (const stem of ['vocals', 'drums']) {
      const [old] = live(ctx, `${stem}-1`);
      const [next] = live(ctx, `${stem}-2`);
      const when = next.startedAt!;
      assert.ok(when >= ctx.currentTime, 'the new render starts in the future');
      // Played since 1.05 (start latency), so at `when` the song is at when - 1.05 seconds.
      assert.ok(Math.abs(next.offset! - (when - 1.05)) < 1e-9, 'same song position');
      assert.ok(Math.abs(old.stoppedAt! - (when + CROSSFADE_S)) < 1e-9, 'the old one plays on until its fade ends');
      const inPts = fadeOf(next).gain.points(), outPts = fadeOf(old).gain.points();
      assert.equal(gainAt(inPts, when), 0);
      assert.equal(gainAt(outPts, when), 1);
      for (let t = when - 0.01; t < when + 0.05; t += 0.002) {
        assert.ok(Math.abs(gainAt(inPts, t) + gainAt(outPts, t) - 1) < 1e-9, `gains sum to 1 at ${t}`);
      }
      assert.equal(fadeOf(next).outputs[0], fadeOf(old).outputs[0], 'both go through the stem strip (its mixer gain)');
    }
    player.pause();
  });

  test('a second swap during the first crossfade fades the newer voice out from the gain it had reached', async () => {
    const { ctx, player } = await playing(['vocals']);
    player.swapBuffers(new Map([['vocals', buffer('vocals-2')]])); // B starts at 3.05, fading in until 3.08
    ctx.currentTime = 3.01;
    player.swapBuffers(new Map([['vocals', buffer('vocals-1')]])); // back to A at 3.06, B one third in
    const [a1, a2] = live(ctx, 'vocals-1');
    const [b] = live(ctx, 'vocals-2');
    const when = a2.startedAt!;
    assert.ok(Math.abs(when - 3.06) < 1e-9);
    const gains = [a1, b, a2].map((s) => fadeOf(s).gain.points());
    assert.ok(Math.abs(gainAt(gains[1], when) - 1 / 3) < 1e-9, `B fades out from ${gainAt(gains[1], when)}, not from full gain`);
    for (const t of [when, when + 0.01, when + 0.02, when + CROSSFADE_S, when + 0.1]) {
      const total = gains.reduce((sum, g) => sum + gainAt(g, t), 0);
      assert.ok(total <= 1 + 1e-9 && total > 0.6, `the three voices sum to ${total} at ${t}`);
    }
    assert.ok(Math.abs(gains.reduce((sum, g) => sum + gainAt(g, when + 0.1), 0) - 1) < 1e-9, 'only the new A is left, at full gain');
    player.pause();
  });

  test('adds a stem the new render has (the residual) fading in at the playhead, and fades out and drops one it lacks', async () => {
    const { ctx, player } = await playing(['vocals', 'other']);
    player.swapBuffers(new Map([['vocals', buffer('vocals-2')], ['other', buffer('other-2')], ['residual', buffer('residual-2')]]));
    assert.deepEqual(player.stems, ['vocals', 'other', 'residual']);
    const [res] = live(ctx, 'residual-2');
    const [vocals] = live(ctx, 'vocals-2');
    assert.equal(res.startedAt, vocals.startedAt);
    assert.equal(res.offset, vocals.offset);
    assert.equal(gainAt(fadeOf(res).gain.points(), res.startedAt!), 0, 'fades in from silence');

    ctx.currentTime = 4;
    const back = player.swapBuffers(new Map([['vocals', buffer('vocals-3')], ['other', buffer('other-3')]]));
    assert.deepEqual([...back.keys()], ['vocals', 'other', 'residual'], 'the A/B record keeps the residual');
    assert.deepEqual(player.stems, ['vocals', 'other']);
    const when = live(ctx, 'vocals-3')[0].startedAt!;
    assert.ok(Math.abs(res.stoppedAt! - (when + CROSSFADE_S)) < 1e-9);
    assert.equal(gainAt(fadeOf(res).gain.points(), res.stoppedAt!), 0, 'silent when it stops');
    player.pause();
  });

  test('while paused only exchanges the buffers, and play starts the new ones from the paused position', async () => {
    const { ctx, player } = await playing(['bass']);
    player.pause();
    const before = ctx.sources.length;
    player.swapBuffers(new Map([['bass', buffer('bass-2')]]));
    assert.equal(ctx.sources.length, before, 'nothing starts while paused');
    await player.play();
    const [next] = live(ctx, 'bass-2');
    assert.ok(Math.abs(next.offset! - 1.95) < 1e-9);
    player.pause();
  });
});

type Scheduled = { output?: number; active?: boolean; input?: number; rate?: number; semitones?: number; loopStart?: number; loopEnd?: number };

class FakeStretch extends FakeNode {
  readonly latencySeconds = 0.2;
  changes: Scheduled[] = [];
  constructor(readonly id: string) { super(); }
  schedule(change: Scheduled) { this.changes.push(change); }
  dropBuffers() {}
  addBuffers() {}
  override disconnect(destination?: FakeNode) { this.outputs = destination ? this.outputs.filter((o) => o !== destination) : []; }
  get last(): Scheduled { return this.changes[this.changes.length - 1]; }
}

async function stretchable(stems: string[]) {
  const ctx = new FakeContext();
  const stretchers: FakeStretch[] = [];
  const create = async (_c: AudioContext, b: AudioBuffer) => {
    const s = new FakeStretch((b as unknown as { id: string }).id);
    stretchers.push(s);
    return s as unknown as import('./player.ts').StretchNode;
  };
  const player = new StemPlayer(ctx as unknown as AudioContext, create);
  player.swapBuffers(new Map(stems.map((s) => [s, buffer(`${s}-1`)])));
  return { ctx, player, stretchers };
}

describe('StemPlayer tempo and key', () => {
  test('plays each stem through its stretcher at another tempo, the playhead advancing at that tempo', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals', 'drums']);
    await player.setTimePitch({ tempo: 0.5, semitones: 0 });
    ctx.currentTime = 1;
    await player.play();
    assert.equal(ctx.sources.length, 0, 'no plain buffer plays');
    assert.deepEqual(stretchers.map((s) => s.id), ['vocals-1', 'drums-1']);
    const start = stretchers[0].last;
    assert.equal(start.active, true);
    assert.equal(start.input, 0);
    assert.equal(start.rate, 0.5);
    assert.ok(start.output! >= 1 + stretchers[0].latencySeconds, 'starts once its latency is waited out');
    ctx.currentTime = start.output! + 2;
    assert.ok(Math.abs(player.position - 1) < 1e-9, `two seconds at half speed are one song second, not ${player.position}`);
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
    assert.deepEqual(stretchers[0].last, { output: started + 2, rate: 1.5, semitones: -3 });
    ctx.currentTime = started + 4;
    assert.ok(Math.abs(player.position - 4) < 1e-9, `1 + 2 seconds at 1.5: ${player.position}`);
    player.pause();
  });

  test('crossfades between the plain buffers and the stretchers at the same song position, both ways', async () => {
    const { ctx, player, stretchers } = await stretchable(['other']);
    await player.play(); // plain, from 0.05
    ctx.currentTime = 2;
    await player.setTimePitch({ tempo: 0.8, semitones: 2 });
    const [plain] = ctx.sources;
    const start = stretchers[0].last;
    assert.ok(start.output! >= 2 + stretchers[0].latencySeconds);
    assert.ok(Math.abs(start.input! - (start.output! - 0.05)) < 1e-9, 'from where the plain buffer is then');
    assert.deepEqual([start.rate, start.semitones, start.active], [0.8, 2, true]);
    assert.ok(Math.abs(plain.stoppedAt! - (start.output! + CROSSFADE_S)) < 1e-9, 'the plain one plays on until its fade ends');

    ctx.currentTime = 3;
    const songAt = player.position;
    await player.setTimePitch({ tempo: 1, semitones: 0 });
    const back = ctx.sources[1];
    assert.ok(back.startedAt! > 3);
    assert.ok(Math.abs(back.offset! - (songAt + (back.startedAt! - 3) * 0.8)) < 1e-9, 'continues at the stretched position');
    assert.deepEqual(stretchers[0].last, { active: false, output: back.startedAt! + CROSSFADE_S });
    player.pause();
  });

  test('at tempo 1 and 0 semitones plays the plain buffers and makes no stretcher', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals']);
    await player.setTimePitch({ tempo: 1, semitones: 0 });
    await player.play();
    assert.equal(stretchers.length, 0);
    assert.equal(ctx.sources.length, 1);
    player.pause();
  });
});

describe('StemPlayer tempo and key with a new render', () => {
  test('hands a new render to the playing stretchers in place, starting no plain buffer', async () => {
    const { ctx, player, stretchers } = await stretchable(['vocals']);
    await player.setTimePitch({ tempo: 0.8, semitones: 0 });
    await player.play();
    const given: unknown[] = [];
    stretchers[0].addBuffers = (...args: unknown[]) => void given.push(args[0]);
    const channel = new Float32Array([0.25, -0.5]);
    const next = { duration: 10, id: 'vocals-2', numberOfChannels: 1, getChannelData: () => channel } as unknown as AudioBuffer;
    player.swapBuffers(new Map([['vocals', next]]));
    assert.equal(ctx.sources.length, 0);
    assert.equal(stretchers.length, 1);
    assert.deepEqual(given, [[channel]], 'a copy of the new samples');
    assert.notEqual((given[0] as Float32Array[])[0], channel, 'copied: the buffer stays playable');
    player.pause();
  });
});

describe('StemPlayer stretchers over a song\'s life', () => {
  test('gives a new render to the stretcher it has while paused, rather than making another', async () => {
    const { player, stretchers } = await stretchable(['bass']);
    await player.setTimePitch({ tempo: 0.9, semitones: 0 });
    await player.play();
    player.pause();
    let given = 0;
    stretchers[0].addBuffers = () => void given++;
    const channel = new Float32Array(4);
    player.swapBuffers(new Map([['bass', { duration: 10, id: 'bass-2', numberOfChannels: 1, getChannelData: () => channel } as unknown as AudioBuffer]]));
    await player.play();
    assert.equal(stretchers.length, 1, 'no second stretcher');
    assert.equal(given, 1);
    assert.equal(stretchers[0].last.active, true);
    player.pause();
  });
});

describe('StemPlayer seeking while stretched', () => {
  test('moves the playing stretchers to the new position in place', async () => {
    const { ctx, player, stretchers } = await stretchable(['drums', 'bass']);
    await player.setTimePitch({ tempo: 1.2, semitones: 1 });
    await player.play();
    ctx.currentTime = 5;
    player.seek(7);
    for (const s of stretchers) assert.deepEqual(s.last, { output: 5, input: 7, loopStart: 0, loopEnd: 0 });
    assert.equal(player.position, 7);
    ctx.currentTime = 6;
    assert.ok(Math.abs(player.position - 8.2) < 1e-9, `one second at 120 % later: ${player.position}`);
    player.pause();
  });
});

describe('StemPlayer loop', () => {
  test('loops the plain buffers over the region, sample-accurately, and reports the wrapped position', async () => {
    const { ctx, player } = await playing(['vocals', 'drums']);
    player.pause();
    player.seek(1);
    player.setLoop({ start: 2, end: 4 });
    ctx.currentTime = 10;
    await player.play();
    for (const source of ctx.sources.slice(-2)) {
      assert.deepEqual([source.loop, source.loopStart, source.loopEnd, source.offset], [true, 2, 4, 1]);
    }
    const startedAt = ctx.sources[ctx.sources.length - 1].startedAt!;
    ctx.currentTime = startedAt + 2.5; // song 3.5: inside, not yet wrapped
    assert.ok(Math.abs(player.position - 3.5) < 1e-9, `${player.position}`);
    ctx.currentTime = startedAt + 3.5; // 1 + 3.5 = 4.5 → wraps to 2.5
    assert.ok(Math.abs(player.position - 2.5) < 1e-9, `wrapped to ${player.position}`);
    ctx.currentTime = startedAt + 7.25; // 8.25 → 2 + (6.25 mod 2) = 2.25
    assert.ok(Math.abs(player.position - 2.25) < 1e-9, `wrapped to ${player.position}`);
    player.pause();
    assert.ok(Math.abs(player.position - 2.25) < 1e-9, 'paused where the loop had wrapped to');
  });

  test('clearing the loop while playing stops the wrapping: the buffers play on to the song end', async () => {
    const { ctx, player } = await playing(['bass']);
    player.setLoop({ start: 1, end: 3 });
    const [source] = ctx.sources;
    assert.deepEqual([source.loop, source.loopStart, source.loopEnd], [true, 1, 3], 'set on the playing source');
    ctx.currentTime = 5; // started at 1.05 from 0: 3.95 → wraps to 1.95
    assert.ok(Math.abs(player.position - 1.95) < 1e-9, `${player.position}`);
    player.setLoop(null);
    assert.equal(source.loop, false);
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
    ctx.currentTime = 30;
    t.mock.timers.tick(60_000);
    assert.equal(ended, 0);
    assert.equal(player.isPlaying, true);
    player.setLoop(null);
    t.mock.timers.tick(60_000);
    assert.equal(ended, 1, 'without the loop the song ends');
  });

  test('a seek outside the loop plays on from there and wraps at the loop end; a seek past it plays to the end', async () => {
    const { ctx, player } = await playing(['bass']);
    player.setLoop({ start: 4, end: 6 });
    ctx.currentTime = 3;
    player.seek(0.5);
    const before = ctx.sources[ctx.sources.length - 1];
    assert.deepEqual([before.offset, before.loop, before.loopStart, before.loopEnd], [0.5, true, 4, 6]);
    ctx.currentTime = 4;
    player.seek(8);
    const after = ctx.sources[ctx.sources.length - 1];
    assert.deepEqual([after.offset, after.loop], [8, false]);
    ctx.currentTime = 5;
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
    for (const s of stretchers) assert.deepEqual([s.last.loopStart, s.last.loopEnd], [0, 0], 'loop turned off in the stretcher');
    ctx.currentTime = started + 6.5;
    assert.ok(Math.abs(player.position - 3.5) < 1e-9, `no wrap any more: ${player.position}`);
    player.pause();
  });
});

describe('StemPlayer gains', () => {
  test('a stem a new render adds stays silent until the mixer sets its gain (a solo elsewhere holds)', async () => {
    const { ctx, player } = await playing(['vocals', 'other']);
    player.setGains({ vocals: 1, other: 0 });
    player.swapBuffers(new Map([['vocals', buffer('vocals-2')], ['other', buffer('other-2')], ['residual', buffer('residual-2')]]));
    const [residual] = live(ctx, 'residual-2');
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
    clicks.forEach((t, i) => assert.ok(Math.abs(t - (start - 4 + i)) < 1e-9, `click ${i} at ${t}, the song at ${start}`));
    assert.ok(clicks[0] >= 1, 'the first click is not in the past');
    ctx.currentTime = start - 0.5;
    assert.equal(player.position, 0, 'the playhead waits for the count-in');
    player.pause();
  });

  test('a new render swapped in during the count-in starts where the song does, not over the clicks', async () => {
    const ctx = new FakeContext();
    const player = new StemPlayer(ctx as unknown as AudioContext);
    player.swapBuffers(new Map([['bass', buffer('bass-1')]]));
    ctx.currentTime = 1;
    await player.play({ bpm: 60, beatsPerBar: 4 });
    const songStart = live(ctx, 'bass-1')[0].startedAt!;
    assert.ok(songStart > 4.9, `the song starts after the bar, at ${songStart}`);
    ctx.currentTime = 2;
    player.swapBuffers(new Map([['bass', buffer('bass-2')]]));
    const [next] = live(ctx, 'bass-2');
    assert.ok(next.startedAt! >= songStart - 1e-9, `the new render starts at ${next.startedAt}, during the clicks`);
    assert.equal(next.offset, 0);
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
    for (const o of toCome) assert.ok(o.stoppedAt! <= ctx.currentTime, `a click due at ${o.startedAt} is stopped before it sounds`);
  });
});
