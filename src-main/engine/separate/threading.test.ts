import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadPlan } from './threading.ts';

test('two cores without the cache: one for the network, the chunk DSP in the engine worker, no pool', () => {
  assert.deepEqual(threadPlan(1, false), { network: 1, pool: 0, separate: 0 });
  assert.deepEqual(threadPlan(2, false), { network: 1, pool: 0, separate: 0 });
});

test('two cores with the cache: a pool of one thread per core for re-renders, first separations as without the cache', () => {
  assert.deepEqual(threadPlan(1, true), { network: 1, pool: 1, separate: 0 });
  assert.deepEqual(threadPlan(2, true), { network: 1, pool: 2, separate: 0 });
});

test('more cores: the network keeps half, a first separation renders on the rest but one for the engine worker', () => {
  assert.deepEqual(threadPlan(4, false), { network: 2, pool: 1, separate: 1 });
  assert.deepEqual(threadPlan(16, false), { network: 8, pool: 7, separate: 7 });
  for (let cores = 4; cores <= 64; cores++) {
    for (const cached of [false, true]) {
      const p = threadPlan(cores, cached);
      assert.ok(p.network >= 1 && p.separate >= 1 && p.network + p.separate + 1 <= cores, `${cores} cores`);
      assert.equal(p.pool, cached ? cores : p.separate, `${cores} cores`);
      assert.equal(p.separate, threadPlan(cores, !cached).separate, 'a first separation splits the cores alike');
    }
  }
});

test('sizes the engine was given win over the plan, on both paths', () => {
  for (const cached of [false, true]) {
    assert.deepEqual(threadPlan(2, cached, { dspThreads: 3 }), { network: 1, pool: 3, separate: 3 });
    assert.deepEqual(threadPlan(16, cached, { dspThreads: 0 }), { network: 8, pool: 0, separate: 0 });
    assert.equal(threadPlan(16, cached, { threads: 0 }).network, 0);
    assert.equal(threadPlan(2, cached, { threads: 2 }).network, 2);
  }
});
