import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { LaneQueue, URGENT_RUN_LIMIT } from './lanes.ts';

describe('LaneQueue', () => {
  const takeAll = <T>(q: LaneQueue<T>) => {
    const out: T[] = [];
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x);
    return out;
  };

  test('an urgent item queued after normal ones goes before them; each lane keeps its order', () => {
    const q = new LaneQueue<string>();
    for (const n of ['n1', 'n2', 'n3']) q.push(n, false);
    q.push('u1', true);
    q.push('u2', true);
    assert.deepEqual(takeAll(q), ['u1', 'u2', 'n1', 'n2', 'n3']);
  });

  test('a steady stream of urgent items lets a waiting normal one through after URGENT_RUN_LIMIT of them', () => {
    const q = new LaneQueue<string>();
    q.push('n1', false);
    for (let i = 0; i < URGENT_RUN_LIMIT * 2; i++) q.push(`u${i}`, true);
    const order = takeAll(q);
    assert.equal(order.indexOf('n1'), URGENT_RUN_LIMIT);
  });

  test('removes an item from either lane and drains both', () => {
    const q = new LaneQueue<number>();
    q.push(1, false);
    q.push(2, true);
    q.push(3, false);
    assert.equal(
      q.remove((x) => x === 3),
      3,
    );
    assert.equal(
      q.remove((x) => x === 9),
      undefined,
    );
    assert.deepEqual(q.drain().sort(), [1, 2]);
    assert.equal(q.size, 0);
  });
});
