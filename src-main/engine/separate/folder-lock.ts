// One job at a time in a song's stem folder, whichever process runs it (the app, a CLI beside it, a second app on
// a shared folder). Two jobs replacing the same stems at once would leave a mix of both, and one job's cleanup could
// remove the folder the other is writing into. The lock is a small file naming its owner the way temporary names do
// (temp-files.ts); a lock whose owner has ended is taken over, one held by a live job fails the newcomer with
// OUTPUT_BUSY. Two processes taking over the same abandoned lock at the same instant are not told apart.
import { randomBytes } from 'node:crypto';
import { lstat, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { isStale, thisProcess } from '../temp-files.ts';

export const LOCK_FILE = '.xumx-lock';

/** A lock file that cannot be read yet may be one a live job is writing this instant; past this age it is debris. */
const UNREADABLE_STALE_MS = 60_000;

export interface FolderLock {
  release(): Promise<void>;
}

interface LockOwner {
  host: string;
  pid: number;
  run: string;
}

export async function lockStemFolder(dir: string): Promise<FolderLock> {
  const path = join(dir, LOCK_FILE);
  const me = JSON.stringify({ ...thisProcess(), job: randomBytes(4).toString('hex') });
  for (let attempt = 0; attempt < 3; attempt++) {
    const fh = await open(path, 'wx').catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
      return null;
    });
    if (fh) {
      try {
        await fh.writeFile(me);
        await fh.close();
        return { release: () => releaseLock(path, me) };
      } catch (err) {
        // Created but not written (a full disk): an empty lock would hold the folder for anyone for a minute.
        await fh.close().catch(() => {});
        await unlink(path).catch(() => {});
        throw err;
      }
    }
    const held = await readOwner(path);
    if (held === 'gone') continue;
    const abandoned =
      held === null
        ? await lstat(path).then(
            (st) => Date.now() - st.mtimeMs > UNREADABLE_STALE_MS,
            () => true,
          )
        : await isStale(held, path);
    if (!abandoned) {
      const who = held === null ? 'another job' : `another job (process ${held.pid})`;
      throw new XumxError(
        'OUTPUT_BUSY',
        `${dir}: ${who} is writing this song's stems; try again when it has finished`,
        dir,
      );
    }
    await unlink(path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }
  throw new XumxError('OUTPUT_BUSY', `${dir}: other jobs keep taking this song's stem folder; try again`, dir);
}

/** The lock's owner; null when it cannot be read as one (not a small plain file, or half written); 'gone' if removed. */
async function readOwner(path: string): Promise<LockOwner | null | 'gone'> {
  const st = await lstat(path).catch(() => null);
  if (st === null) return 'gone';
  if (!st.isFile() || st.size > 1024) return null;
  try {
    const o = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    if (typeof o.host === 'string' && Number.isSafeInteger(o.pid) && typeof o.run === 'string') return o as LockOwner;
  } catch {
    // unreadable: see the caller
  }
  return null;
}

/** Removes the lock only while it is still this job's (a lock taken over meanwhile belongs to someone else). */
async function releaseLock(path: string, me: string): Promise<void> {
  const now = await readFile(path, 'utf8').catch(() => null);
  if (now === me) await unlink(path).catch(() => {});
}
