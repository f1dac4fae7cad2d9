import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView, ListenView } from '../../src-main/api/contract.ts';
import { silentSongText } from './silent-song.ts';

const listen = (error: ListenView['error']): ListenView => ({
  revision: 0,
  sampleRate: 44100,
  frames: 44100,
  readyFrames: 0,
  complete: true,
  sources: ['vocals', 'drums'],
  error,
});

const song = (l: ListenView | null): Pick<JobView, 'name' | 'listen'> => ({ name: 'a.wav', listen: l });

describe('the line that says why a song is silent', () => {
  test('names the stem file and the reason, without the song name the editor already shows', () => {
    const text = silentSongText(
      song(
        listen({
          code: 'FILE_NOT_FOUND',
          message:
            "a.wav: the song's audio cannot be made again from its stem files (/m/a/drums.wav: no such file or folder); playing tries again once they change, or after 30 s",
        }),
      ),
    );
    assert.equal(
      text,
      "No sound: the song's audio cannot be made again from its stem files (/m/a/drums.wav: no such file or folder); playing tries again once they change, or after 30 s",
    );
  });

  test('says nothing while the song can be played, or before it has a listening copy', () => {
    assert.equal(silentSongText(song(listen(null))), null);
    assert.equal(silentSongText(song(null)), null);
  });
});
