import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { hdf5HeadProblem, parseContentRange } from './download.ts';
import { HDF5_SIGNATURE, hdf5DeclaredSize } from './nnabla-h5.ts';

/** A version-0 superblock head (what h5py writes by default) declaring `eof` bytes, 8-byte offsets. */
function superblockV0(eof: number): Uint8Array {
  const b = Buffer.alloc(64);
  HDF5_SIGNATURE.copy(b, 0);
  b[8] = 0;
  b[13] = 8;
  b[14] = 8;
  b.writeBigUInt64LE(0n, 24); // base address
  b.writeBigUInt64LE(BigInt(eof), 40); // end-of-file address, the third address
  return b;
}

describe('download checks', () => {
  test('reads the size an HDF5 superblock declares', () => {
    assert.equal(hdf5DeclaredSize(superblockV0(142437464)), 142437464);
    assert.equal(hdf5DeclaredSize(Buffer.from('<html>')), null);
    assert.equal(hdf5DeclaredSize(superblockV0(1000).subarray(0, 30)), null, 'too short to tell');
  });

  test('tells an HTML page from other non-HDF5 data', () => {
    assert.equal(hdf5HeadProblem(superblockV0(10)), null);
    assert.match(hdf5HeadProblem(Buffer.from('  <!DOCTYPE html><html>')) ?? '', /web page/);
    assert.match(hdf5HeadProblem(Buffer.from('PK\x03\x04zipdata')) ?? '', /not an HDF5 file/);
  });

  test('parses Content-Range headers', () => {
    assert.deepEqual(parseContentRange('bytes 100-199/1000'), { start: 100, total: 1000 });
    assert.deepEqual(parseContentRange('bytes */1000'), { start: null, total: 1000 });
    assert.deepEqual(parseContentRange('bytes 5-9/*'), { start: 5, total: null });
    assert.equal(parseContentRange('items 1-2/3'), null);
    assert.equal(parseContentRange(null), null);
  });
});
