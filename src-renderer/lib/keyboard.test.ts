import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyAction, type KeyInput } from './keyboard.ts';

const key = (k: string, over: Partial<KeyInput> = {}): KeyInput => ({
  key: k,
  shiftKey: false,
  ctrlKey: false,
  metaKey: false,
  altKey: false,
  targetTag: 'div',
  focusedStem: null,
  ...over,
});

describe('keyAction', () => {
  test('space toggles playback', () => {
    assert.deepEqual(keyAction(key(' ')), { kind: 'toggle-play' });
  });

  test('arrows seek five seconds, one with shift', () => {
    assert.deepEqual(keyAction(key('ArrowLeft')), { kind: 'seek-by', seconds: -5 });
    assert.deepEqual(keyAction(key('ArrowRight', { shiftKey: true })), { kind: 'seek-by', seconds: 1 });
    assert.deepEqual(keyAction(key('Home')), { kind: 'seek-to', seconds: 0 });
  });

  test('M and S act on the focused stem only', () => {
    assert.deepEqual(keyAction(key('m', { focusedStem: 'drums' })), { kind: 'mute', source: 'drums' });
    assert.deepEqual(keyAction(key('S', { focusedStem: 'bass' })), { kind: 'solo', source: 'bass' });
    assert.equal(keyAction(key('m')), null);
  });

  test('[ and ] set the loop start and end at the playhead, L turns looping on and off', () => {
    assert.deepEqual(keyAction(key('[')), { kind: 'loop-start-here' });
    assert.deepEqual(keyAction(key(']')), { kind: 'loop-end-here' });
    assert.deepEqual(keyAction(key('l')), { kind: 'toggle-loop' });
    assert.deepEqual(keyAction(key('L', { shiftKey: true })), { kind: 'toggle-loop' });
    assert.equal(keyAction(key('[', { targetTag: 'input', targetType: 'text' })), null, 'typed into a region name');
    assert.equal(keyAction(key('l', { targetTag: 'input', targetType: 'text' })), null);
  });

  test('leaves keys alone in text fields, sliders, lists and with modifiers', () => {
    assert.equal(keyAction(key('ArrowLeft', { targetTag: 'input', targetType: 'range' })), null);
    assert.equal(keyAction(key('m', { targetTag: 'input', focusedStem: 'drums' })), null);
    assert.equal(keyAction(key(' ', { targetTag: 'select' })), null);
    assert.equal(keyAction(key(' ', { targetTag: 'button' })), null, 'space presses the focused button instead');
    assert.equal(keyAction(key('s', { ctrlKey: true, focusedStem: 'drums' })), null);
  });
});
