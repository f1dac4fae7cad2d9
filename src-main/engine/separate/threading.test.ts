import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadPlan } from './threading.ts';

test('two cores without the cache: one for the network, the chunk DSP in the engine worker, no pool', () => {
  assert.deepEqual(threadPlan(1, false), { network: 1, dsp: 0 });
  assert.deepEqual(threadPlan(2, false), { network: 1, dsp: 0 });
});

test('with the cache: one pool thread per core, for re-renders and first separations alike', () => {
  assert.deepEqual(threadPlan(1, true), { network: 1, dsp: 1 });
  assert.deepEqual(threadPlan(2, true), { network: 1, dsp: 2 });
  assert.deepEqual(threadPlan(16, true), { network: 8, dsp: 16 });
});

test('more cores without the cache: the network keeps half, the pool the rest but one for the engine worker', () => {
  assert.deepEqual(threadPlan(4, false), { network: 2, dsp: 1 });
  assert.deepEqual(threadPlan(16, false), { network: 8, dsp: 7 });
  for (let cores = 4; cores <= 64; cores++) {
    const p = threadPlan(cores, false);
    assert.ok(p.network >= 1 && p.dsp >= 1 && p.network + p.dsp + 1 <= cores, `${cores} cores`);
    assert.equal(threadPlan(cores, true).network, p.network, 'the network gets the same threads with the cache');
  }
});

test('sizes the engine was given win over the plan, on both paths', () => {
  for (const cached of [false, true]) {
    assert.deepEqual(threadPlan(2, cached, { dspThreads: 3 }), { network: 1, dsp: 3 });
    assert.deepEqual(threadPlan(16, cached, { dspThreads: 0 }), { network: 8, dsp: 0 });
    assert.equal(threadPlan(16, cached, { threads: 0 }).network, 0);
    assert.equal(threadPlan(2, cached, { threads: 2 }).network, 2);
  }
});
