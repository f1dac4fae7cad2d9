import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo } from '../../src-main/api/contract.ts';
import { BUILT_IN_PRESETS } from '../../src-main/engine/separate/presets.ts';
import { effectiveGains } from './mixer.ts';
import {
  controlledSources,
  isModelDefault,
  modelDefaults,
  positionFromStrength,
  presetControls,
  presetFrom,
  presetMixer,
  renderOnChange,
  resetToDefaults,
  sameControls,
  sourceValue,
  strengthFromPosition,
  withGlobal,
  withSourceValue,
} from './separation-controls.ts';

const SOURCES = ['vocals', 'drums', 'bass', 'other'];
const BASE = { wienerIterations: 1, softmask: false, residual: false };
const preset = (id: string) => BUILT_IN_PRESETS.find((p) => p.id === id)!;

describe('separation controls panel logic', () => {
  test('the strength slider is logarithmic with 1 in the middle', () => {
    assert.equal(strengthFromPosition(0), 1);
    assert.equal(strengthFromPosition(-2), 0.25);
    assert.equal(strengthFromPosition(2), 4);
    assert.ok(Math.abs(positionFromStrength(1.5) - Math.log2(1.5)) < 1e-12);
  });

  test('moving a slider back to neutral removes the entry and leaves the preset', () => {
    const sc = presetControls(preset('karaoke'), SOURCES, BASE);
    assert.equal(sc.presetId, 'karaoke');
    const moved = withSourceValue(sc, 'strength', 'drums', 1.2);
    assert.equal(moved.presetId, null);
    assert.deepEqual(moved.controls.strength, { vocals: 0.7, drums: 1.2 });
    const back = withSourceValue(withSourceValue(moved, 'strength', 'drums', 1), 'strength', 'vocals', 1);
    assert.equal(back.controls.strength, undefined);
    assert.ok(sameControls(back.controls, BASE));
    assert.equal(withGlobal(back, { residual: true }).controls.residual, true);
  });

  test('a preset mix mutes and turns down what the preset says', () => {
    assert.deepEqual(effectiveGains(presetMixer(preset('karaoke'), SOURCES, 0)), {
      vocals: 0,
      drums: 1,
      bass: 1,
      other: 1,
    });
    const practice = effectiveGains(presetMixer(preset('practice-bass'), SOURCES, 0));
    assert.ok(Math.abs(practice.bass - 10 ** (-12 / 20)) < 1e-12);
  });

  test('a preset for sources the model lacks drops those entries', () => {
    assert.deepEqual(presetControls(preset('karaoke'), ['drums', 'other'], BASE).controls, BASE);
  });

  test('saving the current state as a preset keeps controls and mix', () => {
    const sc = withSourceValue({ controls: BASE, presetId: null }, 'bleed', 'vocals', 0.3);
    const mixer = presetMixer(preset('drumless'), SOURCES, 0);
    const p = presetFrom('Late Night Mix!', sc, mixer, SOURCES);
    assert.equal(p.id, 'my-late-night-mix');
    assert.deepEqual(p.controls.bleed, { vocals: 0.3, drums: 0, bass: 0, other: 0 });
    assert.deepEqual(p.mute, ['drums']);
  });
});

describe("a model's recommended controls in the panel", () => {
  const DEFAULTS = { ...BASE, wienerIterations: 2, strength: { vocals: 1.2 }, bleed: { other: 0.1 } };
  const model = (id: string, defaultControls: typeof BASE) => ({ id, defaultControls }) as unknown as ModelInfo;

  test("are the song's model's, or neutral for a model no longer installed", () => {
    const models = [model('plain', BASE), model('tuned', DEFAULTS)];
    assert.deepEqual(modelDefaults(models, 'tuned'), DEFAULTS);
    assert.deepEqual(modelDefaults(models, 'gone'), BASE);
    assert.deepEqual(modelDefaults(models, undefined), BASE);
  });

  test('a source set to the neutral value stays neutral, not back at the model default', () => {
    const sc = withSourceValue({ controls: DEFAULTS, presetId: null }, 'strength', 'vocals', 1);
    assert.equal(sourceValue(sc.controls, 'strength', 'vocals'), 1);
    assert.equal(isModelDefault(sc.controls, DEFAULTS, 'strength', 'vocals'), false);
    assert.equal(isModelDefault(sc.controls, DEFAULTS, 'bleed', 'other'), true);
    assert.ok(!sameControls(sc.controls, DEFAULTS));
  });

  test("reset goes back to the model's defaults, not to neutral", () => {
    const moved = withGlobal(withSourceValue({ controls: DEFAULTS, presetId: 'karaoke' }, 'bleed', 'other', 0), {
      residual: true,
    });
    const reset = resetToDefaults(DEFAULTS);
    assert.deepEqual(reset, { controls: DEFAULTS, presetId: null });
    assert.ok(!sameControls(moved.controls, reset.controls));
    assert.equal(isModelDefault(reset.controls, DEFAULTS, 'strength', 'vocals'), true);
  });

  test('a preset saved from the panel keeps a source at neutral where the model recommends otherwise', () => {
    const sc = withSourceValue({ controls: DEFAULTS, presetId: null }, 'strength', 'vocals', 1);
    const mine = presetFrom('Plain vocals', sc, presetMixer(preset('karaoke'), SOURCES, 0), SOURCES);
    const applied = presetControls(mine, SOURCES, DEFAULTS);
    assert.ok(sameControls(applied.controls, sc.controls), JSON.stringify(applied.controls));
    assert.equal(sourceValue(applied.controls, 'strength', 'vocals'), 1);
  });

  test("a preset keeps the song's Wiener iterations unless it names them", () => {
    const current = { ...DEFAULTS, wienerIterations: 3 };
    assert.equal(presetControls(preset('karaoke'), SOURCES, DEFAULTS, current).controls.wienerIterations, 3);
    const named = { ...preset('karaoke'), controls: { ...preset('karaoke').controls, wienerIterations: 0 } };
    assert.equal(presetControls(named, SOURCES, DEFAULTS, current).controls.wienerIterations, 0);
  });

  test("a preset changes what it names and leaves the rest at the model's defaults", () => {
    const sc = presetControls(preset('a-cappella'), SOURCES, DEFAULTS);
    assert.deepEqual(sc.controls, {
      ...DEFAULTS,
      strength: { vocals: 1.4 },
      bleed: { vocals: 0.15, other: 0.1 },
    });
    assert.deepEqual(presetControls(preset('practice-drums'), SOURCES, DEFAULTS).controls, DEFAULTS);
  });
});

describe('controlledSources', () => {
  test('offers separation controls for every stem but the residual, which has no estimate of its own', () => {
    assert.deepEqual(controlledSources([...SOURCES, 'residual']), SOURCES);
    assert.deepEqual(controlledSources(SOURCES), SOURCES);
  });
});

describe('renderOnChange', () => {
  test('renders a control moved at rest at once, and of the moves right after it only the last, once it rests', (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const rendered: number[] = [];
    const changes = renderOnChange((v: number) => rendered.push(v), 50);
    changes.push(1);
    assert.deepEqual(rendered, [1], 'the first move is not held back');
    t.mock.timers.tick(20);
    changes.push(2);
    t.mock.timers.tick(20);
    changes.push(3);
    t.mock.timers.tick(49);
    assert.deepEqual(rendered, [1], 'not while it keeps moving');
    t.mock.timers.tick(1);
    assert.deepEqual(rendered, [1, 3], 'the newest once it has rested');
    t.mock.timers.tick(500);
    changes.push(4);
    assert.deepEqual(rendered, [1, 3, 4], 'a move after a rest is the first of the next');
    changes.push(5);
    changes.cancel();
    t.mock.timers.tick(500);
    assert.deepEqual(rendered, [1, 3, 4], 'a move waiting for the rest is dropped when cancelled');
  });
});
