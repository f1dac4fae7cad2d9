// Sony's x-umx.h5 -> ONNX: a random parameter file in nnabla's exact layout is converted in TypeScript, run with
// onnxruntime-node, and compared with an independent numpy forward pass that follows sony's model.py (test mode).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  statSync,
  truncateSync,
  copyFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XumxError } from '../../src-main/engine/errors.ts';
import { importNnablaXumx } from '../../src-main/engine/convert/import-xumx.ts';
import { XUMX_OFFICIAL } from '../../src-main/engine/convert/official.ts';
import {
  hasH5py,
  python,
  randomMagnitude,
  readF32,
  runOnnx,
  runPython,
  writeF32,
  writeNnablaFixture,
} from './convert-fixtures.ts';
import { maxRelativeDifference } from './helpers/compare.ts';

const skip = hasH5py ? false : 'needs Debian python3 with h5py and numpy (python3-h5py)';

async function rejectsWith(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<XumxError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof XumxError, `expected XumxError, got ${err}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `message should mention ${m}: ${err.message}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('converting nnabla X-UMX parameters to the ONNX model contract', { skip }, () => {
  let dir: string;
  let h5: string;
  let modelsDir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'xumx-convert-'));
    h5 = join(dir, 'x-umx.h5');
    writeNnablaFixture(h5, 7);
    modelsDir = join(dir, 'models');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the converted graph reproduces the reference forward pass within 1e-4 relative', async () => {
    const stages: string[] = [];
    const res = await importNnablaXumx({
      h5Path: h5,
      modelsDir,
      source: XUMX_OFFICIAL,
      onStage: (s) => stages.push(s),
    });
    assert.deepEqual(stages, ['validate', 'read', 'build', 'write']);
    const dims = [2, 2, 2049, 19];
    const input = randomMagnitude(2, 19, 11);
    writeF32(join(dir, 'in.f32'), input);
    runPython('training/tools/xumx_reference_nnabla.py', [
      h5,
      join(dir, 'in.f32'),
      join(dir, 'ref.f32'),
      '--shape',
      dims.join(','),
    ]);
    const ref = readF32(join(dir, 'ref.f32'));
    const out = await runOnnx(res.onnxPath, input, dims);
    assert.deepEqual(out.dims, [4, ...dims]);
    const diff = maxRelativeDifference(out.data, ref);
    console.log(`[parity] nnabla x-umx.h5 layout: max relative difference ${diff.toExponential(3)}`);
    assert.ok(diff <= 1e-4, `max relative difference ${diff}`);
    // A network that ignores its weights could pass a loose check on an all-zero output; this one must not be flat.
    assert.ok(ref.some((v) => v > 0.1));
  });

  test('batch items are separated independently, as with one item at a time', async () => {
    const onnx = join(modelsDir, 'xumx-official', 'model.onnx');
    const frames = 6;
    const both = randomMagnitude(2, frames, 3);
    const per = 2 * 2049 * frames;
    const joint = await runOnnx(onnx, both, [2, 2, 2049, frames]);
    const second = await runOnnx(onnx, both.slice(per), [1, 2, 2049, frames]);
    for (let s = 0; s < 4; s++) {
      const a = joint.data.subarray((s * 2 + 1) * per, (s * 2 + 2) * per);
      const b = second.data.subarray(s * per, (s + 1) * per);
      assert.ok(maxRelativeDifference(a, b) <= 1e-5);
    }
  });

  test('writes a manifest with the contract fields, the ONNX sha256, the license and the paper metrics', () => {
    const mdir = join(modelsDir, 'xumx-official');
    const m = JSON.parse(readFileSync(join(mdir, 'manifest.json'), 'utf8'));
    const onnx = readFileSync(join(mdir, m.file));
    assert.equal(m.id, 'xumx-official');
    assert.deepEqual(m.sources, ['bass', 'drums', 'vocals', 'other']);
    assert.equal(m.sample_rate, 44100);
    assert.equal(m.n_fft, 4096);
    assert.equal(m.hop, 1024);
    assert.equal(m.size, onnx.byteLength);
    assert.equal(m.sha256, createHash('sha256').update(onnx).digest('hex'));
    assert.match(m.license, /Apache-2\.0/);
    assert.equal(m.metrics.sdr.vocals, 6.61);
    assert.equal(m.converted_from.sha256, createHash('sha256').update(readFileSync(h5)).digest('hex'));
    assert.ok(typeof m.provenance === 'string' && m.provenance.includes('MUSDB18'));
    assert.deepEqual(readdirSync(modelsDir), ['xumx-official'], 'no temporary folder is left behind');
  });

  test(
    'the ONNX file passes the onnx checker',
    { skip: spawnSync(python, ['-c', 'import onnx']).status === 0 ? false : 'no python3-onnx' },
    () => {
      const r = spawnSync(
        python,
        [
          '-c',
          'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1])); print("ok")',
          join(modelsDir, 'xumx-official', 'model.onnx'),
        ],
        { encoding: 'utf8' },
      );
      assert.equal(r.status, 0, r.stderr);
    },
  );

  test('reinstalling replaces the model folder', async () => {
    writeFileSync(join(modelsDir, 'xumx-official', 'stale.txt'), 'old');
    await importNnablaXumx({ h5Path: h5, modelsDir, source: XUMX_OFFICIAL });
    assert.deepEqual(readdirSync(join(modelsDir, 'xumx-official')).sort(), [
      'manifest.json',
      'model.onnx',
      'origin.json',
    ]);
  });

  describe('rejects files that are not the official layout, naming file and reason, writing nothing', () => {
    let bad: string;
    let out: string;
    before(() => {
      bad = join(dir, 'bad');
      out = join(dir, 'bad-models');
      mkdirSync(bad, { recursive: true });
    });
    const nothingWritten = () => assert.throws(() => statSync(join(out, 'xumx-official')));

    test('a parameter is missing', async () => {
      const p = join(bad, 'missing.h5');
      writeNnablaFixture(p, 1, ['--drop', 'lstm_vocals/lstm/bias']);
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        p,
        'lstm_vocals/lstm/bias (3, 2, 4, 256) is missing',
      );
      nothingWritten();
    });

    test('one parameter has the wrong shape', async () => {
      const p = join(bad, 'shape.h5');
      writeNnablaFixture(p, 1, ['--reshape', 'fc3_drums/bn/var']);
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        'fc3_drums/bn/var has shape (1, 1, 4097), expected (1, 1, 4098)',
      );
      nothingWritten();
    });

    test('a network of another size (hidden 64)', async () => {
      const p = join(bad, 'small.h5');
      writeNnablaFixture(p, 1, ['--hidden', '64']);
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        'fc1_bass/affine/W has shape (2974, 64), expected (2974, 512)',
        'hidden 512',
      );
      nothingWritten();
    });

    test('float16 values', async () => {
      const p = join(bad, 'half.h5');
      writeNnablaFixture(p, 1, ['--hidden', '512', '--dtype', 'f2']);
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        'expected float32',
      );
      nothingWritten();
    });

    test('an HDF5 file with other content', async () => {
      const p = join(bad, 'other.h5');
      const r = spawnSync(python, ['-c', 'import h5py,sys; f=h5py.File(sys.argv[1],"w"); f["images/x"]=[1.0,2.0]', p]);
      assert.equal(r.status, 0);
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        'holds no X-UMX parameters',
      );
      nothingWritten();
    });

    test('a truncated download', async () => {
      const p = join(bad, 'truncated.h5');
      copyFileSync(h5, p);
      truncateSync(p, Math.floor(statSync(h5).size * 0.6));
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        p,
        'truncated',
      );
      nothingWritten();
    });

    test('an HTML page saved under the .h5 name', async () => {
      const p = join(bad, 'page.h5');
      writeFileSync(p, '<!DOCTYPE html><html><body>Not found</body></html>');
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        'not an HDF5 file',
      );
      nothingWritten();
    });

    test('an empty file and a missing file', async () => {
      const p = join(bad, 'empty.h5');
      writeFileSync(p, '');
      await rejectsWith(
        importNnablaXumx({ h5Path: p, modelsDir: out, source: XUMX_OFFICIAL }),
        'CONVERT_FAILED',
        'empty',
      );
      await rejectsWith(
        importNnablaXumx({ h5Path: join(bad, 'nope.h5'), modelsDir: out, source: XUMX_OFFICIAL }),
        'FILE_NOT_FOUND',
        'nope.h5',
      );
      nothingWritten();
    });
  });
});
