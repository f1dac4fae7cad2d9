import { test } from 'node:test';
import assert from 'node:assert/strict';
import { presetMixPath } from './preset-mix.ts';

test('names a preset mix after the song as its stem folder is named: visible, never a hidden or dot-led file', () => {
  const stems = { vocals: '/out/wav/vocals.wav' };
  assert.equal(presetMixPath('/music/...wav', stems, 'karaoke', 'wav'), '/out/wav/wav.karaoke.mix.wav');
  assert.equal(presetMixPath('/music/ song .flac', stems, 'karaoke', 'flac'), '/out/wav/song.karaoke.mix.flac');
  assert.equal(presetMixPath('/music/Mix Song.mp3', stems, 'karaoke', 'mp3'), '/out/wav/Mix Song.karaoke.mix.mp3');
});
