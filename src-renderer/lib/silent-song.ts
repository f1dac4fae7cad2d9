// A finished song whose listening copy was dropped (to keep the copies under their disk cap) is played from a copy
// written again from its stem files; when that cannot be done (a stem file moved, deleted or changed) the song is
// silent, and its ListenView says why. The editor shows it where the player's errors go.
import type { JobView } from '../../src-main/api/contract.ts';

/** Why the song cannot be played now, naming the stem file; null while it can (or has no copy yet). */
export function silentSongText(job: Pick<JobView, 'name' | 'listen'>): string | null {
  const message = job.listen?.error?.message;
  if (!message) return null;
  // The editor's title already names the song.
  const own = `${job.name}: `;
  return `No sound: ${message.startsWith(own) ? message.slice(own.length) : message}`;
}
