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
  startedAt: number | null = null;
  offset: number | null = null;
  stoppedAt: number | null = null;
  onended: (() => void) | null = null;
  start(when: number, offset: number) { this.startedAt = when; this.offset = offset; }
  stop(when = 0) { this.stoppedAt = when; }
}

class FakeContext {
  currentTime = 0;
  state = 'running';
  destination = new FakeNode();
  sources: FakeSource[] = [];
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
