import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { blocksOf, playOrder } from './block-plan.ts';

describe('playOrder', () => {
  test('runs straight on to the song end', () => {
    assert.deepEqual(playOrder(10, 100, 50, null), [{ start: 10, end: 50 }]);
    assert.deepEqual(playOrder(10, 15, 50, null), [{ start: 10, end: 25 }]);
  });

  test('wraps at the loop end back to its start, again and again', () => {
    assert.deepEqual(playOrder(5, 40, 100, { start: 10, end: 25 }), [
      { start: 5, end: 25 },
      { start: 10, end: 25 },
      { start: 10, end: 15 },
    ]);
  });

  test('a run from past the loop plays on to the end without wrapping', () => {
    assert.deepEqual(playOrder(30, 100, 60, { start: 10, end: 25 }), [{ start: 30, end: 60 }]);
  });

  test('a loop that ends at the song end wraps there', () => {
    assert.deepEqual(playOrder(45, 10, 50, { start: 40, end: 50 }), [
      { start: 45, end: 50 },
      { start: 40, end: 45 },
    ]);
  });
});

describe('blocksOf', () => {
  test('names each block the spans touch once, in the order heard', () => {
    assert.deepEqual(
      blocksOf(
        [
          { start: 15, end: 35 },
          { start: 0, end: 12 },
        ],
        10,
      ),
      [1, 2, 3, 0],
    );
  });
});
