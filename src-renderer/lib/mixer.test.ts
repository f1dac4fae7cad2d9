import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  dbToGain,
  describeMix,
  effectiveGains,
  faderToDb,
  gainToDb,
  initialMixer,
  setGainDb,
  setMasterDb,
  toggleMute,
  toggleSolo,
  withSources,
} from './mixer.ts';

const SOURCES = ['vocals', 'drums', 'bass', 'other'];
const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-9, `${a} vs ${b}`);

describe('dB and linear gain', () => {
  test('convert both ways', () => {
    close(dbToGain(0), 1);
    close(dbToGain(-6.020599913), 0.5);
    close(dbToGain(20), 10);
    close(gainToDb(0.1), -20);
    for (const db of [-59, -12.5, 0, 3, 12]) close(gainToDb(dbToGain(db)), db);
  });

  test('treat silence as minus infinity', () => {
    assert.equal(dbToGain(-Infinity), 0);
    assert.equal(gainToDb(0), -Infinity);
    assert.equal(faderToDb(-60), -Infinity);
    assert.equal(faderToDb(-59.5), -59.5);
    assert.equal(faderToDb(40), 12);
  });
});

describe('effectiveGains', () => {
  test('plays every stem at unity by default', () => {
    assert.deepEqual(effectiveGains(initialMixer(SOURCES)), { vocals: 1, drums: 1, bass: 1, other: 1 });
  });

  test('silences a muted stem', () => {
    const g = effectiveGains(toggleMute(initialMixer(SOURCES), 'vocals'));
    assert.deepEqual(g, { vocals: 0, drums: 1, bass: 1, other: 1 });
  });

  test('plays only soloed stems once any is soloed', () => {
    let m = toggleSolo(initialMixer(SOURCES), 'drums');
    m = toggleSolo(m, 'bass');
    assert.deepEqual(effectiveGains(m), { vocals: 0, drums: 1, bass: 1, other: 0 });
  });

  test('lets mute win over solo', () => {
    const m = toggleMute(toggleSolo(initialMixer(SOURCES), 'drums'), 'drums');
    assert.deepEqual(effectiveGains(m), { vocals: 0, drums: 0, bass: 0, other: 0 });
  });

  test('applies fader and master together', () => {
    const m = setMasterDb(setGainDb(initialMixer(SOURCES), 'bass', -6.020599913), -6.020599913);
    const g = effectiveGains(m);
    close(g.bass, 0.25);
    close(g.vocals, 0.5);
  });

  test('a second toggle undoes the first', () => {
    const m = toggleSolo(toggleSolo(toggleMute(toggleMute(initialMixer(SOURCES), 'other'), 'other'), 'bass'), 'bass');
    assert.deepEqual(m, initialMixer(SOURCES));
  });

  test('clamps faders to the fader range and ignores unknown stems', () => {
    assert.equal(setGainDb(initialMixer(SOURCES), 'vocals', 99).strips.vocals.gainDb, 12);
    assert.equal(setGainDb(initialMixer(SOURCES), 'vocals', -99).strips.vocals.gainDb, -60);
    const m = initialMixer(SOURCES);
    assert.equal(toggleMute(m, 'piano'), m);
  });
});

describe('describeMix', () => {
  test('names common mixes for export file names', () => {
    const m = initialMixer(SOURCES);
    assert.equal(describeMix(m), 'full mix');
    assert.equal(describeMix(toggleMute(m, 'vocals')), 'no vocals');
    assert.equal(describeMix(toggleSolo(m, 'drums')), 'drums only');
    assert.equal(describeMix(toggleSolo(toggleSolo(m, 'drums'), 'bass')), 'drums + bass');
    assert.equal(describeMix(setGainDb(m, 'bass', -3)), 'custom mix');
    assert.equal(describeMix(SOURCES.reduce(toggleMute, m)), 'silence');
  });
});

describe('withSources', () => {
  test('keeps the settings of stems that stay and adds a new stem at 0 dB, in the new order', () => {
    const m = setMasterDb(setGainDb(toggleMute(initialMixer(SOURCES), 'drums'), 'bass', -6), -3);
    const next = withSources(m, [...SOURCES, 'residual']);
    assert.deepEqual(Object.keys(next.strips), [...SOURCES, 'residual']);
    assert.equal(next.strips.drums.muted, true);
    assert.equal(next.strips.bass.gainDb, -6);
    assert.equal(next.masterDb, -3);
    assert.deepEqual(next.strips.residual, { gainDb: 0, muted: false, soloed: false });
  });

  test('drops a stem that is gone, so its solo no longer silences the others', () => {
    const m = toggleSolo(withSources(initialMixer(SOURCES), [...SOURCES, 'residual']), 'residual');
    assert.equal(effectiveGains(m).vocals, 0);
    const back = withSources(m, SOURCES);
    assert.deepEqual(Object.keys(back.strips), SOURCES);
    assert.equal(effectiveGains(back).vocals, 1);
  });

  test('a stem that comes back gets its fader and mute again, but not its solo', () => {
    let m = withSources(initialMixer(SOURCES), [...SOURCES, 'residual']);
    m = toggleSolo(toggleMute(setGainDb(m, 'residual', -9), 'residual'), 'residual');
    const again = withSources(withSources(m, SOURCES), [...SOURCES, 'residual']);
    assert.deepEqual(again.strips.residual, { gainDb: -9, muted: true, soloed: false });
    assert.equal(effectiveGains(again).vocals, 1);
  });
});
