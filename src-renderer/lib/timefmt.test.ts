import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDb, formatTime } from './timefmt.ts';

describe('formatTime', () => {
  test('shows minutes, seconds and tenths', () => {
    assert.equal(formatTime(0), '0:00.0');
    assert.equal(formatTime(83.27), '1:23.2');
    assert.equal(formatTime(3725.5), '1:02:05.5');
    assert.equal(formatTime(-4), '0:00.0');
  });
});

describe('formatDb', () => {
  test('signs gains and shows silence as minus infinity', () => {
    assert.equal(formatDb(0), '0.0 dB');
    assert.equal(formatDb(3.04), '+3.0 dB');
    assert.equal(formatDb(-12.26), '-12.3 dB');
    assert.equal(formatDb(-Infinity), '-∞ dB');
  });
});
