// Temporary files and folders, written next to where their result goes (so the final rename stays on one file
// system) and named after the process that owns them:
//   .<name>.xumx-<pid>-<run>-<random>.<kind>
// A job that writes into a folder removes what processes that are gone (SIGKILL, a crash, a power cut) left there,
// and never touches the files of one still running. `run` is random per process: a pid that comes back — common
// in containers, where every start gets the same pids — is then not taken for the process that had it before.
// Worker threads must share it (the engine writes stems in one while the main thread writes exports): it lives in
// the environment, which a worker copies from the thread that starts it, so the first thread to load this module
// sets it (engine/index.ts loads it before it starts its worker).
import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** partial: being written; aside: an old stem a commit moved out of the way; commit: a commit's journal (outputs.ts). */
export type TempKind = 'partial' | 'aside' | 'commit';

export interface TempFile {
  /** The file name in its folder. */
  file: string;
  /** The name of what it becomes or stands for, e.g. `vocals.wav`. */
  name: string;
  kind: TempKind;
  pid: number;
  run: string;
}

/** The process's tag, shared with its worker threads; a child process inherits the variables and makes its own. */
function processRun(): string {
  const env = process.env;
  if (env.XUMX_STUDIO_TEMP_PID !== String(process.pid) || !/^[0-9a-f]{8}$/.test(env.XUMX_STUDIO_TEMP_RUN ?? '')) {
    env.XUMX_STUDIO_TEMP_RUN = randomBytes(4).toString('hex');
    env.XUMX_STUDIO_TEMP_PID = String(process.pid);
  }
  return env.XUMX_STUDIO_TEMP_RUN!;
}

const RUN = processRun();
const PATTERN = /^\.(.+)\.xumx-(\d+)-([0-9a-f]{8})-[0-9a-f]{8}\.(partial|aside|commit)$/;

export function tempName(name: string, kind: TempKind = 'partial'): string {
  return `.${name}.xumx-${process.pid}-${RUN}-${randomBytes(4).toString('hex')}.${kind}`;
}

/** A hidden temporary path in the same folder as `path`. */
export function tempPathFor(path: string, kind: TempKind = 'partial'): string {
  return join(dirname(path), tempName(basename(path), kind));
}

export function parseTempName(file: string): TempFile | null {
  const m = PATTERN.exec(file);
  return m ? { file, name: m[1], pid: Number(m[2]), run: m[3], kind: m[4] as TempKind } : null;
}

/** Whether the process that named `t` has ended. Another user's process that is alive (EPERM) counts as alive. */
export function ownerIsGone(t: Pick<TempFile, 'pid' | 'run'>): boolean {
  if (t.pid === process.pid) return t.run !== RUN;
  if (!Number.isSafeInteger(t.pid) || t.pid <= 0) return false; // kill(0) would mean our own process group
  try {
    process.kill(t.pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** The temporary files and folders in `dir` whose owner has ended (none when `dir` cannot be read). */
export async function staleTemps(dir: string): Promise<TempFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.map(parseTempName).filter((t): t is TempFile => t !== null && ownerIsGone(t));
}

/**
 * Removes from `dir` the partial files and folders and the set-aside stems of processes that have ended, except
 * those of the owners in `keep` (whose commit could not be undone yet). Returns a notice for each it could not remove.
 */
export async function removeStaleTemps(dir: string, keep: ReadonlySet<string> = new Set()): Promise<string[]> {
  const notices: string[] = [];
  for (const t of await staleTemps(dir)) {
    if (t.kind === 'commit' || keep.has(ownerKey(t))) continue;
    try {
      await rm(join(dir, t.file), { recursive: true, force: true });
    } catch (err) {
      notices.push(`${join(dir, t.file)}: cannot remove what an interrupted job left here (${(err as Error).message})`);
    }
  }
  return notices;
}

/** Identifies one run of one process. */
export function ownerKey(t: Pick<TempFile, 'pid' | 'run'>): string {
  return `${t.pid}-${t.run}`;
}
