import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { OnnxGraphBuilder } from './onnx-graph.ts';

test('a hand-built graph runs in onnxruntime and computes x · W + b with dynamic batch', async () => {
  const g = new OnnxGraphBuilder('tiny');
  const x = g.input('x', ['batch', 2]);
  g.output('y', ['batch', 3]);
  const w = g.weight('w', [2, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
  const b = g.weight('b', [3], Float32Array.from([0.5, -1, 0]));
  g.node('Add', [g.node('MatMul', [x, w]), b], {}, 'y');
  const session = await ort.InferenceSession.create(g.toBytes(17, { name: 'test', version: '0' }));
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from([1, 1, 0, 2]), [2, 2]) });
  assert.deepEqual([...(out.y.data as Float32Array)], [5.5, 6, 9, 8.5, 9, 12]);
  await session.release();
});

test('refuses a name used twice and data that does not fit the shape', () => {
  const g = new OnnxGraphBuilder('bad');
  g.input('x', [1]);
  assert.throws(() => g.weight('x', [1], new Float32Array(1)), /used twice/);
  assert.throws(() => g.weight('w', [2, 2], new Float32Array(3)), /3 values for shape \[2,2\]/);
});
