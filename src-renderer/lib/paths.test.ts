import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { baseName, parentFolder } from './paths.ts';

describe('path display', () => {
  test('splits POSIX and Windows paths', () => {
    assert.equal(parentFolder('/home/a/song/vocals.wav'), '/home/a/song');
    assert.equal(parentFolder('C:\\Music\\song\\bass.flac'), 'C:\\Music\\song');
    assert.equal(parentFolder('/vocals.wav'), '/');
    assert.equal(baseName('C:\\Music\\x.mp3'), 'x.mp3');
  });
});
