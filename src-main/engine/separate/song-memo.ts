// The engine's memory of the last song it prepared (decoded, made stereo, at the model's rate), so that re-rendering
// it with new controls starts at once: decoding an MP3 or FLAC and resampling a 48 kHz file cost about as much as
// the re-render's DSP. One song only: a 10-minute one holds ~210 MB.
import type { PreparedSong, SongMemo } from './pipeline.ts';

export class LastSongMemo implements SongMemo {
  private key: string | null = null;
  private song: PreparedSong | undefined;

  /** The song for `key`; asking for another one drops the kept song, so two are never held while that one loads. */
  get(key: string): PreparedSong | undefined {
    if (key === this.key) return this.song;
    this.clear();
    return undefined;
  }

  set(key: string, song: PreparedSong): void {
    this.key = key;
    this.song = song;
  }

  clear(): void {
    this.key = null;
    this.song = undefined;
  }
}
