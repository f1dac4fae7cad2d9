import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toStereo } from './channels.ts';

const ramp = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => (i + 1) * k * 0.01);

test('mono is duplicated into two independent channels', () => {
  const m = ramp(4, 1);
  const {
    channels: [l, r],
    notice,
  } = toStereo([m]);
  assert.deepEqual(Array.from(l), Array.from(m));
  assert.deepEqual(Array.from(r), Array.from(m));
  r[0] = 9;
  assert.notEqual(l[0], 9);
  assert.match(notice ?? '', /mono/);
});

test('stereo passes through untouched and without a notice', () => {
  const a = ramp(3, 1),
    b = ramp(3, 2);
  const out = toStereo([a, b]);
  assert.equal(out.channels[0], a);
  assert.equal(out.channels[1], b);
  assert.equal(out.notice, undefined);
});

test('5.1 folds centre and surrounds at −3 dB and drops the LFE', () => {
  const one = (v: number) => new Float32Array([v]);
  // FL FR FC LFE BL BR
  const {
    channels: [l, r],
    notice,
  } = toStereo([one(0.1), one(0.2), one(0.4), one(1), one(0.3), one(0.5)]);
  assert.ok(Math.abs(l[0] - (0.1 + Math.SQRT1_2 * 0.4 + Math.SQRT1_2 * 0.3)) < 1e-6);
  assert.ok(Math.abs(r[0] - (0.2 + Math.SQRT1_2 * 0.4 + Math.SQRT1_2 * 0.5)) < 1e-6);
  assert.equal(notice, 'downmixed 6 channels to stereo as 5.1 (ITU-R BS.775, LFE dropped)');
});

test('7.1 keeps side and back channels on their own side', () => {
  const chans = Array.from({ length: 8 }, () => new Float32Array(1));
  chans[6][0] = 1; // SL
  const {
    channels: [l, r],
  } = toStereo(chans);
  assert.ok(Math.abs(l[0] - Math.SQRT1_2) < 1e-6);
  assert.equal(r[0], 0);
});

test('an unusual channel count averages odd channels left and even channels right', () => {
  const chans = Array.from({ length: 10 }, (_, c) => new Float32Array([c % 2 === 0 ? 0.5 : -0.5]));
  const {
    channels: [l, r],
    notice,
  } = toStereo(chans);
  assert.ok(Math.abs(l[0] - 0.5) < 1e-6);
  assert.ok(Math.abs(r[0] + 0.5) < 1e-6);
  assert.match(notice ?? '', /downmixed 10 channels/);
});

test('no channels is a programming error', () => {
  assert.throws(() => toStereo([]), RangeError);
});
