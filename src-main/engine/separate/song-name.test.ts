import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportFileName, exportName, fitUtf8, partName, songName, stemFileName } from './song-name.ts';

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
      'x'.repeat(1001),
    ]) {
      assert.equal(exportFileName(bad), null, JSON.stringify(bad));
    }
  });

  test('names a stem file after its song, numbered like stem folders', () => {
    assert.equal(stemFileName('/m/...Club Track.flac'), 'Club Track.stem.mp4');
    assert.equal(stemFileName('C:\\m\\song.wav', 2), 'song (2).stem.mp4');
  });

  // 83 three-byte characters and one more byte: a file name of 254 bytes with ".wav", as long as a file system allows.
  const LONG = '音'.repeat(83) + 'a';
  const bytes = (s: string) => new TextEncoder().encode(s).length;
  const whole = (s: string) => new TextDecoder('utf-8', { fatal: true }).decode(new TextEncoder().encode(s)) === s;
  const region = { start: 5999.9, end: 5999.95 };

  test('keeps every name made from a 250-byte song name within 255 bytes, cut between characters', () => {
    assert.equal(bytes(LONG), 250);
    const path = `/songs/${LONG}.wav`;
    const song = songName(path);
    assert.ok(LONG.startsWith(song) && song.length >= 50, song);
    assert.ok(whole(song));
    for (const name of [
      `${song} (1000)`, // a stem folder
      stemFileName(path, 1000, region),
      `.${stemFileName(path, 1000, region)}.xumx-song`, // a stem file's mark
      `${partName(`${song} - ${'s'.repeat(32)}`, region)}.flac`, // an exported stem
      `${song}.${'p'.repeat(48)}.mix.flac`, // the CLI's preset mix
    ])
      assert.ok(bytes(name) <= 255, `${bytes(name)} bytes: ${name}`);
  });

  test('fits an export name with its part and extension within 255 bytes, keeping the part and extension', () => {
    const typed = `${LONG} (vocals muted)`;
    const name = exportName(typed, region, 'flac');
    assert.ok(bytes(name) <= 255, `${bytes(name)} bytes`);
    assert.ok(name.endsWith(`${partName('', region)}.flac`), name);
    assert.ok(typed.startsWith(name.slice(0, name.indexOf(' ['))), name);
    assert.equal(exportName('Song (no vocals)', undefined, 'wav'), 'Song (no vocals).wav');
  });

  test('cuts text at a character boundary, never inside a character or between a letter and its accent', () => {
    const text = 'aé音😀e\u0301z';
    for (let max = 0; max <= bytes(text) + 1; max++) {
      const cut = fitUtf8(text, max);
      assert.ok(bytes(cut) <= max, `${max}: ${cut}`);
      assert.ok(text.startsWith(cut) && whole(cut), `${max}: ${JSON.stringify(cut)}`);
    }
    assert.equal(fitUtf8(text, 12), 'aé音😀', 'the accent stays with its letter');
    assert.equal(fitUtf8(text, 13), 'aé音😀e\u0301');
    assert.equal(fitUtf8(text, 100), text);
  });
});
