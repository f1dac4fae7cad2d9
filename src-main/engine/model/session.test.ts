import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { maxRelativeDifference } from '../../../test/integration/helpers/compare.ts';
import {
  brokenModel,
  canBuildModels,
  quantizedTestModel,
  testModel,
  type BrokenKind,
} from '../../../test/integration/helpers/models.ts';
import { pickModel, scanModels } from './registry.ts';
import { openModel, probeInput } from './session.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx to build test networks';

async function open(root: string, id: string, ep: 'auto' | 'cpu' | 'cuda' | 'dml' = 'cpu') {
  const scan = await scanModels([root], { allowTestModels: true });
  return openModel(pickModel(scan, id, [root]), { ep });
}

describe('openModel', { skip }, () => {
  test('opens a contract-conforming network and runs a batch of chunks', async () => {
    const { root, id } = testModel();
    const model = await open(root, id);
    assert.equal(model.ep, 'cpu');
    const out = await model.run(probeInput(3, 5), 3, 5);
    assert.equal(out.length, 4 * 3 * 2 * 2049 * 5);
    assert.ok(
      out.every((v) => Number.isFinite(v) && v >= 0),
      'magnitudes are finite and non-negative',
    );
    await model.dispose();
  });

  test('auto records why each skipped provider could not run, and falls back to the CPU', async () => {
    const { root, id } = testModel();
    const model = await open(root, id, 'auto');
    if (model.ep === 'cpu') {
      assert.ok(model.epSkipped.length >= 1);
      for (const s of model.epSkipped) assert.match(s.reason, new RegExp(`^${s.ep}: .+`));
    }
    await model.dispose();
  });

  test('an explicit provider that cannot run here is EP_UNAVAILABLE with the reason', async () => {
    const { root, id } = testModel();
    const ep = process.platform === 'win32' ? 'cuda' : 'dml';
    await assert.rejects(open(root, id, ep), (e: XumxError) => e.code === 'EP_UNAVAILABLE' && e.message.includes(ep));
  });

  for (const bits of [4, 8]) {
    test(`runs an int${bits} network in float32 on the CPU, matching the quantized torch model as closely as a float export`, async () => {
      const { root, id, ref } = quantizedTestModel(bits);
      const f32 = (name: string) => {
        const buf = readFileSync(join(ref, name));
        return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      };
      const io = JSON.parse(readFileSync(join(ref, 'io.json'), 'utf8')) as { input: number[] };
      const model = await open(root, id);
      try {
        const out = await model.run(f32('input.f32'), io.input[0], io.input[3]);
        // a float32 export of the same kind of network matches torch to about 1e-7
        const diff = maxRelativeDifference(out, f32('output.f32'));
        assert.ok(diff <= 1e-6, `max relative difference ${diff}`);
      } finally {
        await model.dispose();
      }
    });
  }

  const cases: [BrokenKind, string, RegExp][] = [
    ['missing-file', 'MODEL_MISSING_FILE', /missing/],
    ['corrupt-sha256', 'MODEL_CORRUPT', /sha256/],
    ['wrong-input-name', 'MODEL_BAD_SHAPE', /"mix_mag"/],
    ['wrong-bins', 'MODEL_BAD_SHAPE', /2049/],
    ['wrong-sources', 'MODEL_BAD_SHAPE', /\[4, \*, 2, 2049, \*\]/],
    ['probe-shape', 'MODEL_BAD_SHAPE', /returned float32 \[1, 1, 2, 2049, 8\]/],
  ];
  for (const [kind, code, pattern] of cases) {
    test(`refuses a model with ${kind.replace(/-/g, ' ')} as ${code}, naming the model`, async () => {
      const { root, id } = brokenModel(kind);
      await assert.rejects(
        open(root, id),
        (e: XumxError) => e.code === code && pattern.test(e.message) && e.message.includes('"broken"'),
      );
    });
  }
});
