// One app at a time on a data folder. Settings, presets, per-song controls, recent files, uploads, listening copies
// and the estimate cache all live there, and an app cleans parts of it when it starts (uploads and temporary files of
// a run that was killed): a second app on the same folder would save over the first's settings and remove the songs
// it has queued. Every door starts the app through createStudio, which takes this lock first.
//
// The lock is a small file naming its owner the way temporary names do (temp-files.ts), with when and where it runs
// (lock-owner.ts): a lock whose owner has ended (killed, crashed, a power cut, a reboot) is taken over; one held by an
// app still running, or by an app of another computer or container, refuses the newcomer before it touches anything.
// It is created exclusively, so of two apps starting at once one creates it and the other reads it.
// A lock found abandoned is moved aside before it is removed, and removed only if what was moved is what was judged
// abandoned: two apps taking it over at once cannot both end up holding the folder.
import { randomBytes } from 'node:crypto';
import { lstat, open, readFile, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { asXumxError, makeFolders, tempPathFor, XumxError } from '../engine/index.ts';
import {
  describeOwner,
  lockOwnerIsGone,
  parseLockOwner,
  pidMeansHere,
  thisLockOwner,
  type LockOwner,
} from './lock-owner.ts';

export const DATA_FOLDER_LOCK = 'studio.lock';

export interface DataFolderLock {
  readonly file: string;
  /** False when the folder cannot be written (read-only, full): the app runs without the lock; `notice` says why. */
  readonly held: boolean;
  readonly notice: string | null;
  /** Removes the lock while it is still this app's; safe to call twice. */
  release(): Promise<void>;
}

export interface DataFolderLockOptions {
  /** How the user of this door starts the app with another data folder, e.g. `--data DIR`; for the refusal. */
  otherFolder?: string;
}

/** More than two apps taking the folder in the same instant: the newcomer gives up rather than loop. */
const ATTEMPTS = 5;

export async function lockDataFolder(dir: string, opts: DataFolderLockOptions = {}): Promise<DataFolderLock> {
  const file = join(dir, DATA_FOLDER_LOCK);
  const me = JSON.stringify({ ...thisLockOwner(), nonce: randomBytes(4).toString('hex') });
  const busy = (owner: LockOwner) => {
    const ifNoneRuns = pidMeansHere(owner)
      ? `If no X-UMX Studio is running, remove ${file}.`
      : `If that app is no longer running (a container that was removed, or restarted with a new host name), ` +
        `remove ${file}. A container given a fixed host name (docker run --hostname) can tell by itself when ` +
        `the app of its earlier run has ended.`;
    return new XumxError(
      'OUTPUT_BUSY',
      `${dir}: this data folder is in use by another X-UMX Studio (${describeOwner(owner)}). Close that app, or ` +
        `start this one with another data folder (${opts.otherFolder ?? 'see --help'}). ${ifNoneRuns}`,
      dir,
    );
  };
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    let created: boolean;
    try {
      created = await createLock(dir, file, me);
    } catch (e) {
      // A folder that cannot be written (read-only, full) must not stop the app: it runs, saving nothing there, and
      // createStudio removes nothing another app may be using.
      const found = await readLock(file);
      const owner = found === null ? null : parseLockOwner(found);
      if (owner && !lockOwnerIsGone(owner)) throw busy(owner);
      return unlocked(dir, file, e);
    }
    if (created) {
      // Another app may have judged the lock abandoned while it was empty and moved it aside: it is ours only if
      // it still reads as ours.
      if ((await readLock(file)) === me) return heldLock(file, me);
      continue;
    }
    const found = await readLock(file);
    if (found === null) continue;
    const owner = parseLockOwner(found);
    if (owner && !lockOwnerIsGone(owner)) throw busy(owner);
    try {
      await takeOverAbandoned(file, found);
    } catch (e) {
      // An abandoned lock on a folder that cannot be written (remounted read-only after the app was killed) can be
      // neither moved nor replaced: the app runs without one, as where none could be created. A folder or link
      // standing there, or a live lock that could not be put back, is still refused.
      if (!unmovable.has(e as object)) throw e;
      return unlocked(dir, file, e);
    }
  }
  throw new XumxError('OUTPUT_BUSY', `${dir}: other apps keep taking this data folder; try again`, dir);
}

/** True when this call created the lock, false when one is there already. */
async function createLock(dir: string, file: string, me: string): Promise<boolean> {
  await makeFolders(dir);
  const fh = await open(file, 'wx').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EEXIST') return null;
    throw e;
  });
  if (!fh) return false;
  try {
    await fh.writeFile(me);
    await fh.close();
  } catch (e) {
    // Created but not written (a full disk): an empty lock would be taken for debris anyway, but leave none.
    await fh.close().catch(() => {});
    await unlink(file).catch(() => {});
    throw e;
  }
  return true;
}

/** The lock's text; null when there is none. Anything but a small plain file reads as garbage (''). */
async function readLock(file: string): Promise<string | null> {
  const st = await lstat(file).catch(() => null);
  if (st === null) return null;
  if (!st.isFile() || st.size > 4096) return '';
  return readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : ''));
}

/** Errors of an abandoned lock that could not be moved aside: the folder cannot be written, nothing was changed. */
const unmovable = new WeakSet<object>();

/**
 * Removes the lock `file` judged abandoned from its text `judged`. Another app may have removed that one and created
 * its own in the meantime: a lock that is not the one judged is put back for its owner.
 */
export async function takeOverAbandoned(file: string, judged: string): Promise<void> {
  const st = await lstat(file).catch(() => null);
  if (st === null) return;
  if (!st.isFile())
    throw new XumxError('OUTPUT_NOT_WRITABLE', `${file}: is not a lock file (a folder or a link); remove it`, file);
  const aside = tempPathFor(file, 'aside');
  try {
    await rename(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    const err = asXumxError(e, file);
    unmovable.add(err);
    throw err;
  }
  const moved = await readLock(aside);
  try {
    if (moved === judged) await rm(aside, { force: true });
    else await rename(aside, file);
  } catch (e) {
    throw asXumxError(e, file);
  }
}

function heldLock(file: string, me: string): DataFolderLock {
  let released = false;
  return {
    file,
    held: true,
    notice: null,
    async release() {
      if (released) return;
      released = true;
      if ((await readLock(file)) === me) await unlink(file).catch(() => {});
    },
  };
}

function unlocked(dir: string, file: string, err: unknown): DataFolderLock {
  // The error may name the lock already; the notice names it once.
  const message = asXumxError(err).message;
  const reason = message.startsWith(`${file}: `) ? message.slice(file.length + 2) : message;
  return {
    file,
    held: false,
    notice:
      `${file}: could not be written (${reason}); nothing the app keeps in ${dir} (settings, presets, songs' ` +
      `controls, recent files) can be saved, and songs' controls cannot be changed`,
    release: async () => {},
  };
}
