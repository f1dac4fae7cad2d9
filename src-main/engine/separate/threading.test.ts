import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadPlan } from './threading.ts';

test('two cores: one for the network, the DSP in the job thread, no pool', () => {
  assert.deepEqual(threadPlan(1), { network: 1, dsp: 0 });
  assert.deepEqual(threadPlan(2), { network: 1, dsp: 0 });
});

test('more cores: the network keeps half, the DSP pool takes the rest but one for the job thread', () => {
  assert.deepEqual(threadPlan(4), { network: 2, dsp: 1 });
  assert.deepEqual(threadPlan(16), { network: 8, dsp: 7 });
  for (let cores = 4; cores <= 64; cores++) {
    const p = threadPlan(cores);
    assert.ok(p.network >= 1 && p.dsp >= 1 && p.network + p.dsp + 1 <= cores);
  }
});
