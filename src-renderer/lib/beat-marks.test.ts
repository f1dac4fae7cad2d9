import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { beatMarks } from './beat-marks.ts';

// 120 BPM in 4/4: a beat every 0.5 s, a bar every 2 s.
const analysis = { bpm: 120, beatsPerBar: 4 as const, beats: [0, 0.5, 1, 1.5, 2, 2.5], downbeats: [0, 2] };

describe('beatMarks', () => {
  test('marks every beat, bars set apart, when beats are far enough apart to see', () => {
    assert.deepEqual(beatMarks(analysis, 20), [
      { x: 0, bar: true },
      { x: 10, bar: false },
      { x: 20, bar: false },
      { x: 30, bar: false },
      { x: 40, bar: true },
      { x: 50, bar: false },
    ]);
  });

  test('marks only the bars when zoomed out, and nothing when even bars would run together', () => {
    assert.deepEqual(beatMarks(analysis, 4), [
      { x: 0, bar: true },
      { x: 8, bar: true },
    ]);
    assert.deepEqual(beatMarks(analysis, 2), []);
  });

  test('marks nothing for a song without an analysis', () => {
    assert.deepEqual(beatMarks(undefined, 100), []);
  });
});
