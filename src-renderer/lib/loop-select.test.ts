import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { selectRegion, snapTime } from './loop-select.ts';

// 120 BPM in 4/4: a beat every 0.5 s, a bar every 2 s.
const analysis = {
  bpm: 120,
  beatsPerBar: 4 as const,
  beats: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4],
  downbeats: [0, 2, 4],
};

describe('snapTime', () => {
  test('snaps to the nearest beat when the ruler shows beats', () => {
    assert.equal(snapTime(1.2, { analysis, pxPerSec: 20, free: false }), 1);
    assert.equal(snapTime(1.3, { analysis, pxPerSec: 20, free: false }), 1.5);
  });

  test('snaps to the nearest bar when zoomed out so far that the ruler shows only bars (or nothing)', () => {
    assert.equal(snapTime(1.2, { analysis, pxPerSec: 4, free: false }), 2);
    assert.equal(snapTime(0.9, { analysis, pxPerSec: 1, free: false }), 0);
  });

  test('places freely with Alt held', () => {
    assert.equal(snapTime(1.2, { analysis, pxPerSec: 20, free: true }), 1.2);
  });

  test('places freely in a song without an analysis or without beats', () => {
    assert.equal(snapTime(1.2, { analysis: undefined, pxPerSec: 20, free: false }), 1.2);
    assert.equal(
      snapTime(1.2, { analysis: { ...analysis, beats: [], downbeats: [] }, pxPerSec: 20, free: false }),
      1.2,
    );
  });
});

describe('selectRegion', () => {
  test('orders and snaps both edges of a drag, either way', () => {
    assert.deepEqual(selectRegion(3.1, 0.8, { analysis, pxPerSec: 20, free: false }), { start: 1, end: 3 });
  });

  test('gives no region for a drag that snaps to a single point', () => {
    assert.equal(selectRegion(1.1, 1.2, { analysis, pxPerSec: 20, free: false }), null);
  });
});
