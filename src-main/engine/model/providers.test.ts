import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { autoOrder, candidates, explainEpFailure, knownUnavailable, relativeDifference } from './providers.ts';

describe('execution provider order', () => {
  test('auto tries the platform GPU provider, then WebGPU, then the CPU', () => {
    assert.deepEqual(autoOrder('linux'), ['cuda', 'webgpu', 'cpu']);
    assert.deepEqual(autoOrder('win32'), ['dml', 'webgpu', 'cpu']);
    assert.deepEqual(autoOrder('darwin'), ['coreml', 'webgpu', 'cpu']);
  });

  test('an explicit provider is the only candidate: no silent fallback', () => {
    assert.deepEqual(candidates('cuda', 'linux'), ['cuda']);
  });
});

describe('knownUnavailable', () => {
  const all = ['cpu', 'webgpu', 'cuda', 'dml', 'coreml'].map((name) => ({ name }));
  test('gives a reason for a provider of another platform', () => {
    assert.match(knownUnavailable('dml', 'linux', all, null)!, /Windows/);
    assert.match(knownUnavailable('coreml', 'win32', all, null)!, /macOS/);
  });

  test('points Linux users without the CUDA binaries to the README', () => {
    assert.match(
      knownUnavailable('cuda', 'linux', all, '/nonexistent-bin-dir')!,
      /CUDA binaries are not installed \(see README/,
    );
  });

  test('says when the onnxruntime build lacks a provider', () => {
    assert.match(knownUnavailable('dml', 'win32', [{ name: 'cpu' }], null)!, /no dml execution provider/);
    assert.equal(knownUnavailable('cpu', 'linux', [], null), null);
  });
});

describe('warm-up comparison', () => {
  test('measures the largest difference relative to the reference', () => {
    const ref = Float32Array.from([1, -4, 2]);
    assert.equal(relativeDifference(ref, Float32Array.from([1, -4, 2])), 0);
    assert.ok(Math.abs(relativeDifference(ref, Float32Array.from([1, -4.004, 2])) - 1e-3) < 1e-6);
    assert.equal(relativeDifference(ref, Float32Array.from([1, NaN, 2])), Infinity);
    assert.equal(relativeDifference(ref, Float32Array.from([1])), Infinity);
  });

  test('turns onnxruntime errors into one readable line', () => {
    assert.match(
      explainEpFailure(
        'webgpu',
        new Error('/onnxruntime_src/x.cc:136 ... Failed to get a WebGPU adapter: No supported adapters'),
      ),
      /no WebGPU adapter/,
    );
    const msg = explainEpFailure('dml', new Error('/onnxruntime_src/core/x.cc:12 something broke\nstack'));
    assert.equal(msg, 'dml: something broke');
  });
});
