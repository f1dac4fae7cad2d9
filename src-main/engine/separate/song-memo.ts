// The engine's memory of the last song it prepared (decoded, made stereo, at the model's rate), so that re-rendering
// it with new controls starts at once: decoding an MP3 or FLAC and resampling a 48 kHz file cost about as much as
// the re-render's DSP. One song only. What it keeps is the song's temporary file (song-samples.ts), ~21 MB of disk
// per minute and no memory beyond a file handle; letting the song go removes the file once no job reads it.
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
    if (song !== this.song) {
      song.song.retain();
      this.clear();
    }
    this.key = key;
    this.song = song;
  }

  /**
   * Lets the song of `input` go, if it is the one kept (the app removed it or stopped its separation); the file
   * goes once no job reads it.
   */
  forget(input: string): Promise<void> {
    // Keys start with the song's path and a '|' (pipeline.ts songKey).
    return this.key?.startsWith(`${input}|`) ? this.clear() : Promise.resolve();
  }

  clear(): Promise<void> {
    const kept = this.song;
    this.key = null;
    this.song = undefined;
    // A file that cannot be removed now is removed as abandoned by the next process that prepares a song.
    return kept?.song.release().catch(() => {}) ?? Promise.resolve();
  }
}
