// Folders made with their parents, failing with the real reason: Node's recursive mkdir reports ENOENT ("no such
// file or directory") when the file system is read-only, which would tell a user a folder is missing.
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** mkdir -p: makes `path` and its missing parents; returns the first folder it made (undefined: none). */
export async function makeFolders(path: string): Promise<string | undefined> {
  try {
    return await mkdir(path, { recursive: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    // The nearest missing folder made on its own says why it cannot be (EROFS, EACCES, …).
    const missing = await nearestMissing(path);
    if (missing === null) throw e;
    await mkdir(missing).catch((plain: NodeJS.ErrnoException) => {
      if (plain.code !== 'EEXIST') throw plain;
    });
    return (await mkdir(path, { recursive: true })) ?? missing;
  }
}

/** The outermost folder of `path` that does not exist, its parent existing; null when none is missing. */
async function nearestMissing(path: string): Promise<string | null> {
  let missing: string | null = null;
  for (let p = path; ; p = dirname(p)) {
    const there = await stat(p).then(
      () => true,
      () => false,
    );
    if (there) return missing;
    missing = p;
    if (dirname(p) === p) return missing;
  }
}
