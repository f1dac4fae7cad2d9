import { test } from 'node:test';
import assert from 'node:assert/strict';
import { XumxError } from '../errors.ts';
import { expectedParameters, validateXumxParameters } from './nnabla-xumx.ts';

const official = () => [...expectedParameters()].map(([name, shape]) => ({ name, shape: [...shape], dtype: '<f' }));

test('a file whose parameters are named differently is refused naming what was expected and what was found, with shapes', () => {
  const renamed = official().map((p) =>
    p.name === 'fc1_bass/affine/W' ? { ...p, name: 'fc1_bass/linear/weight' } : p,
  );
  assert.throws(
    () => validateXumxParameters('/tmp/x-umx.h5', renamed),
    (err: unknown) => {
      assert.ok(err instanceof XumxError);
      assert.equal(err.code, 'CONVERT_FAILED');
      assert.match(err.message, /fc1_bass\/affine\/W \(2974, 512\) is missing/);
      assert.match(err.message, /Found instead: fc1_bass\/linear\/weight \(2974, 512\)/);
      return true;
    },
  );
  assert.deepEqual(validateXumxParameters('/tmp/x-umx.h5', official()), []);
});
