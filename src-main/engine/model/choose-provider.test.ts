import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EpName, EpTiming } from '../types.ts';
import { chooseProvider, type CandidateSession } from './choose-provider.ts';

/** A session that answers `output` to the warm-up and takes `seconds` for its chunk plan. */
function fake(ep: EpName, seconds: number, output = Float32Array.of(1, 2, 3), batch = 2, frames = 256) {
  const s = {
    ep,
    released: false,
    timed: 0,
    probe: async () => output,
    time: async (): Promise<EpTiming> => {
      s.timed++;
      return { ep, batch, frames, seconds };
    },
    release: async () => {
      s.released = true;
    },
  };
  return s satisfies CandidateSession;
}
type Fake = ReturnType<typeof fake>;

function choose(cpu: Fake, others: Fake[], timeAgainstCpu: boolean, unavailable: Partial<Record<EpName, string>> = {}) {
  return chooseProvider<Fake>({
    cpu,
    reference: Float32Array.of(1, 2, 3),
    order: timeAgainstCpu ? [...others.map((o) => o.ep), 'cpu'] : others.map((o) => o.ep),
    timeAgainstCpu,
    knownUnavailable: (ep) => unavailable[ep] ?? null,
    open: async (ep) => {
      const s = others.find((o) => o.ep === ep)!;
      if (s.timed < 0) throw new Error('cannot start');
      return s;
    },
    explain: (ep, err) => `${ep}: ${(err as Error).message}`,
  });
}

describe('chooseProvider', () => {
  test('auto passes over a GPU provider that agrees with the CPU but is slower here, and says both times', async () => {
    const cpu = fake('cpu', 0.4); // 2 × 256 frames: 781 µs a frame
    const webgpu = fake('webgpu', 2.7, undefined, 32, 64); // 32 × 64 frames: 1318 µs a frame
    const { chosen, skipped, timings } = await choose(cpu, [webgpu], true);
    assert.equal(chosen?.ep, 'cpu');
    assert.equal(chosen?.session, cpu);
    assert.ok(webgpu.released, 'the slower session is released');
    assert.equal(skipped.length, 1);
    assert.match(skipped[0].reason, /^webgpu: slower than the CPU on this machine \(2\.700 s for 32 × 64 frames/);
    assert.match(skipped[0].reason, /the CPU 0\.400 s for 2 × 256 frames/);
    assert.deepEqual(
      timings.map((t) => [t.ep, t.seconds]),
      [
        ['cpu', 0.4],
        ['webgpu', 2.7],
      ],
    );
  });

  test('auto takes a GPU provider that is faster per frame, on its own chunk plan', async () => {
    const cpu = fake('cpu', 0.4);
    const cuda = fake('cuda', 0.5, undefined, 16, 256); // 122 µs a frame
    const { chosen, skipped, timings } = await choose(cpu, [cuda], true);
    assert.equal(chosen?.ep, 'cuda');
    assert.equal(cuda.released, false);
    assert.deepEqual(skipped, []);
    assert.deepEqual(
      timings.map((t) => t.ep),
      ['cpu', 'cuda'],
    );
  });

  test('the CPU is timed once however many providers are tried', async () => {
    const cpu = fake('cpu', 0.4);
    const cuda = fake('cuda', 9);
    const webgpu = fake('webgpu', 8);
    const { chosen, timings } = await choose(cpu, [cuda, webgpu], true);
    assert.equal(chosen?.ep, 'cpu');
    assert.equal(cpu.timed, 1);
    assert.deepEqual(
      timings.map((t) => t.ep),
      ['cpu', 'cuda', 'webgpu'],
    );
  });

  test('a provider whose warm-up disagrees with the CPU is skipped before it is timed', async () => {
    const cpu = fake('cpu', 0.4);
    const webgpu = fake('webgpu', 0.01, Float32Array.of(1, 2, 4));
    const { chosen, skipped, timings } = await choose(cpu, [webgpu], true);
    assert.equal(chosen?.ep, 'cpu');
    assert.equal(webgpu.timed, 0);
    assert.match(skipped[0].reason, /^webgpu: its warm-up result differs from the CPU's by/);
    assert.deepEqual(timings, []);
  });

  test('an explicit choice is not timed: a slow provider the user asked for is used', async () => {
    const cpu = fake('cpu', 0.4);
    const webgpu = fake('webgpu', 20);
    const { chosen, timings } = await choose(cpu, [webgpu], false);
    assert.equal(chosen?.ep, 'webgpu');
    assert.equal(webgpu.timed, 0);
    assert.deepEqual(timings, []);
  });

  test('an explicit choice that cannot start gives no choice and its reason', async () => {
    const cpu = fake('cpu', 0.4);
    const cuda = fake('cuda', 0.1);
    cuda.timed = -1;
    const { chosen, skipped } = await choose(cpu, [cuda], false);
    assert.equal(chosen, null);
    assert.deepEqual(skipped, [{ ep: 'cuda', reason: 'cuda: cannot start' }]);
  });

  test('a provider known to be unavailable is skipped without opening it', async () => {
    const cpu = fake('cpu', 0.4);
    const dml = fake('dml', 0.1);
    const { chosen, skipped } = await choose(cpu, [dml], true, { dml: 'DirectML runs only on Windows' });
    assert.equal(chosen?.ep, 'cpu');
    assert.deepEqual(skipped, [{ ep: 'dml', reason: 'dml: DirectML runs only on Windows' }]);
    assert.equal(dml.timed, 0);
  });
});
