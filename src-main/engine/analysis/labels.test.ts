import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shiftedKeyName } from './labels.ts';

test('names the key a song is played in after a key change, wrapping round the octave both ways', () => {
  const aMinor = { key: { tonic: 'A', mode: 'minor' } } as const;
  assert.equal(shiftedKeyName(aMinor, 0), 'A minor');
  assert.equal(shiftedKeyName(aMinor, 2), 'B minor');
  assert.equal(shiftedKeyName(aMinor, 3), 'C minor');
  assert.equal(shiftedKeyName({ key: { tonic: 'C', mode: 'major' } }, -1), 'B major');
  assert.equal(shiftedKeyName({ key: { tonic: 'Eb', mode: 'major' } }, -12), 'Eb major');
  assert.equal(shiftedKeyName({ key: { tonic: 'F#', mode: 'minor' } }, 12), 'F# minor');
  assert.equal(shiftedKeyName({ key: null }, 3), null);
});
