import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CROSSFADE_S, gainAt, planCrossfade, planFadeIn } from './crossfade.ts';

describe('planCrossfade', () => {
  const plan = planCrossfade(2, 0.03);
  const times = Array.from({ length: 41 }, (_, i) => 1.99 + i * 0.001);

  test('keeps the two gains summing to one before, during and after the fade, so the level does not dip or bulge', () => {
    for (const t of times) assert.ok(Math.abs(gainAt(plan.fadeIn, t) + gainAt(plan.fadeOut, t) - 1) < 1e-12, `t=${t}`);
  });

  test('starts the new source silent and ends it at full gain, the old one the other way round', () => {
    assert.equal(gainAt(plan.fadeIn, 2), 0);
    assert.equal(gainAt(plan.fadeOut, 2), 1);
    assert.equal(gainAt(plan.fadeIn, 2.03), 1);
    assert.equal(gainAt(plan.fadeOut, 2.03), 0);
    for (let i = 1; i < times.length; i++) {
      assert.ok(gainAt(plan.fadeIn, times[i]) >= gainAt(plan.fadeIn, times[i - 1]), 'the fade-in never steps back');
      assert.ok(gainAt(plan.fadeOut, times[i]) <= gainAt(plan.fadeOut, times[i - 1]), 'the fade-out never steps back');
    }
  });

  test('has no gap: both fades begin when the new source starts, and the old stops only once silent', () => {
    assert.equal(plan.start, 2);
    assert.equal(plan.fadeIn[0].time, plan.start);
    assert.equal(plan.fadeOut[0].time, plan.start);
    assert.ok(Math.abs(plan.stopOld - 2.03) < 1e-12);
    assert.equal(gainAt(plan.fadeOut, plan.stopOld), 0);
  });

  test('lasts about 30 ms by default, short enough to be heard as the same moment', () => {
    const d = planCrossfade(0);
    assert.ok(CROSSFADE_S >= 0.01 && CROSSFADE_S <= 0.05);
    assert.equal(d.stopOld, CROSSFADE_S);
  });

  test('fades a stem that only appears in from silence', () => {
    const pts = planFadeIn(1);
    assert.equal(gainAt(pts, 1), 0);
    assert.equal(gainAt(pts, 1 + CROSSFADE_S), 1);
  });
});
