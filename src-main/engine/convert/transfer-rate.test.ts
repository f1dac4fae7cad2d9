import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransferRateMeter } from './transfer-rate.ts';

test('measures speed and time left over the recent window, so a stall shows and a reset forgets the pause', () => {
  const m = new TransferRateMeter(5000);
  assert.deepEqual(m.sample(0, 0, 10_000_000), { bytesPerSecond: null, secondsLeft: null });
  for (let s = 1; s <= 10; s++) m.sample(s * 1000, s * 500_000, 10_000_000);
  const steady = m.sample(11_000, 5_500_000, 10_000_000);
  assert.equal(steady.bytesPerSecond, 500_000);
  assert.equal(steady.secondsLeft, 9);
  let stalled = steady;
  for (let s = 12; s <= 18; s++) stalled = m.sample(s * 1000, 5_500_000, 10_000_000);
  assert.equal(stalled.bytesPerSecond, 0);
  assert.equal(stalled.secondsLeft, null);
  m.reset();
  assert.equal(m.sample(100_000, 6_000_000, null).bytesPerSecond, null);
  assert.equal(m.sample(101_000, 7_000_000, null).secondsLeft, null, 'no total, no time left');
});
