import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelProto } from '../convert/onnx-schema.ts';
import { XUMX_OFFICIAL } from '../convert/official.ts';
import { describeModel, onnxPrecision } from './details.ts';
import { summarizeOnnx, weightPrecision } from './onnx-scan.ts';
import { qualityFromMetrics } from './quality.ts';
import { bundledModelsDir, scanModels } from './registry.ts';
import { writeModelFolder } from './testing/model-folder.ts';

function networkWithWeights(types: { dataType: number; count: number }[]): Uint8Array {
  const initializer = types.map((t, i) => ({
    name: `w${i}`,
    dims: [t.count],
    dataType: t.dataType,
    rawData: new Uint8Array(t.count * 2),
  }));
  return ModelProto.encode({ irVersion: 8, graph: { name: 'g', initializer, node: [] } }).finish();
}

describe('model details', () => {
  test('reads the weight precision from the network file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-details-'));
    try {
      await writeFile(
        join(dir, 'half.onnx'),
        networkWithWeights([
          { dataType: 10, count: 5000 },
          { dataType: 7, count: 3 },
        ]),
      );
      await writeFile(
        join(dir, 'quant.onnx'),
        networkWithWeights([
          { dataType: 3, count: 9000 },
          { dataType: 1, count: 1000 },
        ]),
      );
      await writeFile(join(dir, 'junk.onnx'), 'not protobuf at all \xff\xff\xff');
      assert.equal(await onnxPrecision(join(dir, 'half.onnx')), 'float16');
      assert.equal(await onnxPrecision(join(dir, 'quant.onnx')), 'int8 + float32');
      assert.equal(await onnxPrecision(join(dir, 'junk.onnx')), 'unknown');
      assert.equal(await onnxPrecision(join(dir, 'missing.onnx')), 'unknown');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('names the inputs and outputs of a network with their element types', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-details-'));
    try {
      const { readFile } = await import('node:fs/promises');
      await writeModelFolder(dir);
      const s = summarizeOnnx(await readFile(join(dir, 'model.onnx')));
      assert.deepEqual(s.inputs, [{ name: 'mix_mag', elemType: 'float32' }]);
      assert.deepEqual(s.outputs, [{ name: 'est_mag', elemType: 'float32' }]);
      assert.equal(weightPrecision(s), 'float32');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('describes the bundled model: bundled origin, size on disk, the weight type its manifest states and its measured quality', async () => {
    const scan = await scanModels([bundledModelsDir()]);
    const m = scan.models[0];
    assert.ok(m, 'the repository bundles a model');
    const info = await describeModel(m);
    assert.equal(info.origin, 'bundled');
    const { readFile } = await import('node:fs/promises');
    const raw = JSON.parse(await readFile(join(m.dir, 'manifest.json'), 'utf8')) as { weights_dtype: string };
    // the file's own types, largest share first (float32 biases and scaling may follow the integer matrices)
    const scanned = info.precision.split(' + ');
    const stated = raw.weights_dtype.split('+');
    assert.deepEqual(scanned.slice(0, stated.length), stated);
    assert.ok(info.sizeOnDisk >= m.manifest.size, `${info.sizeOnDisk} bytes on disk`);
    assert.ok(info.quality.length > 0);
    assert.ok(info.quality.every((q) => q.kind === 'measured' && q.set.length > 0));
  });

  test('tells a downloaded model from an imported one by its origin.json', async () => {
    const root = await mkdtemp(join(tmpdir(), 'xumx-details-'));
    try {
      await writeModelFolder(join(root, 'a'), { id: 'a' });
      await writeModelFolder(join(root, 'b'), { id: 'b' });
      await writeFile(
        join(root, 'a', 'origin.json'),
        JSON.stringify({ origin: 'downloaded', from: 'https://example.org/x.h5', installedAt: '2027-01-01T00:00:00Z' }),
      );
      const scan = await scanModels([root]);
      const infos = await Promise.all(scan.models.map(describeModel));
      assert.deepEqual(
        infos.map((i) => [i.id, i.origin]),
        [
          ['a', 'downloaded'],
          ['b', 'imported'],
        ],
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('reads published scores with their set, and ignores metrics it does not understand', () => {
    assert.deepEqual(qualityFromMetrics(XUMX_OFFICIAL.metrics), [
      {
        kind: 'published',
        set: 'MUSDB18 test set',
        measure: (XUMX_OFFICIAL.metrics as { measure: string }).measure,
        sdr: { vocals: 6.61, drums: 6.47, bass: 5.43, other: 4.64 },
      },
    ]);
    assert.deepEqual(qualityFromMetrics({ musdb18hq_test_sdr: { vocals: 6.6 } }), [
      { kind: 'measured', set: 'musdb18hq test', measure: 'SDR in dB', sdr: { vocals: 6.6 } },
    ]);
    assert.deepEqual(qualityFromMetrics({ note: 'good', sdr: { vocals: 'high' } }), []);
  });
});
