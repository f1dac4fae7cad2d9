import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { countInClicks } from './count-in.ts';

describe('countInClicks', () => {
  test("clicks one bar at the song's tempo before the start, the bar's first beat accented", () => {
    assert.deepEqual(countInClicks({ bpm: 120, beatsPerBar: 4 }, 1, 10), [
      { time: 8, accent: true },
      { time: 8.5, accent: false },
      { time: 9, accent: false },
      { time: 9.5, accent: false },
    ]);
  });

  test('follows the tempo control: at 50 % the clicks are twice as far apart', () => {
    assert.deepEqual(
      countInClicks({ bpm: 120, beatsPerBar: 3 }, 0.5, 10).map((c) => c.time),
      [7, 8, 9],
    );
  });
});

describe('countInSeconds', () => {
  test('is the length of the bar the clicks fill', async () => {
    const { countInSeconds } = await import('./count-in.ts');
    assert.equal(countInSeconds({ bpm: 90, beatsPerBar: 3 }, 1.5), (3 * 60) / 135);
  });
});
