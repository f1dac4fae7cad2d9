import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportFileName, songName, stemFileName } from './song-name.ts';

describe('song names', () => {
  test('names a song after its file without the extension, from POSIX and Windows paths', () => {
    assert.equal(songName('/music/My.Song.wav'), 'My.Song');
    assert.equal(songName('C:\\Music\\Mr. Blue Sky.flac'), 'Mr. Blue Sky');
    assert.equal(songName('Demo Song.wav'), 'Demo Song');
  });

  test('never gives a name that is hidden, empty, or "." or ".."', () => {
    for (const [path, want] of [
      ['/m/...wav', 'wav'],
      ['/m/..wav', 'wav'],
      ['/m/.wav', 'wav'],
      ['/m/.hidden.mp3', 'hidden'],
      ['/m/...', 'song'],
      ['/m/ .. .wav', 'wav'],
      ['/m/song. .wav', 'song'],
    ]) {
      assert.equal(songName(path), want, path);
    }
  });

  test('makes a typed export name visible, and refuses one with nothing legal left', () => {
    assert.equal(exportFileName(' .. my mix. '), 'my mix');
    assert.equal(exportFileName('Song (no vocals)'), 'Song (no vocals)');
    for (const bad of [
      '',
      ' ..',
      '.',
      ' . ',
      'a/b',
      'a\\b',
      'mix?',
      'tab\there',
      'CON',
      'nul.txt',
      'Com1',
      'x'.repeat(201),
    ]) {
      assert.equal(exportFileName(bad), null, JSON.stringify(bad));
    }
  });

  test('names a stem file after its song, numbered like stem folders', () => {
    assert.equal(stemFileName('/m/...Club Track.flac'), 'Club Track.stem.mp4');
    assert.equal(stemFileName('C:\\m\\song.wav', 2), 'song (2).stem.mp4');
  });
});
