// Temporary files and folders, written next to where their result goes (so the final rename stays on one file
// system) and named after the process that owns them:
//   .<name>.xumx-<host>-<pid>-<run>-<random>.<kind>
// A job that writes into a folder removes what processes that are gone (SIGKILL, a crash, a power cut) left there,
// and never touches the files of one still running. `run` is random per process: a pid that comes back — common
// in containers, where every start gets the same pids — is then not taken for the process that had it before.
// `host` names the machine (a hash of its host name): a folder shared with another machine or container (a network
// share, a bind mount) holds files whose pids say nothing here, so those are left alone until they are a day old.
// Worker threads must share `run` (the engine writes stems in one while the main thread writes exports): it lives in
// the environment, which a worker copies from the thread that starts it, so the first thread to load this module
// sets it (engine/index.ts loads it before it starts its worker).
import { createHash, randomBytes } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fitUtf8 } from './separate/song-name.ts';

/**
 * partial: being written; aside: an old stem a commit moved out of the way; commit: a commit's journal (outputs.ts);
 * listen: a render's listening copy (engine/separate/listening-copy.ts), kept while the app runs;
 * samples: a prepared song's samples (song-samples.ts).
 */
export type TempKind = 'partial' | 'aside' | 'commit' | 'listen' | 'samples';

export interface TempFile {
  /** The file name in its folder. */
  file: string;
  /** The name of what it becomes or stands for, e.g. `vocals.wav` (a long one cut short and hashed). */
  name: string;
  kind: TempKind;
  host: string;
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
/** This machine, as temporary names record it. */
export const THIS_HOST = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);
/** This process as temporary names and locks record it. */
export function thisProcess(): { host: string; pid: number; run: string } {
  return { host: THIS_HOST, pid: process.pid, run: RUN };
}
/** How old another machine's temporary file must be before it counts as abandoned. */
const FOREIGN_STALE_MS = 24 * 3600_000;
const PATTERN = /^\.(.+)\.xumx-([0-9a-f]{8})-(\d+)-([0-9a-f]{8})-[0-9a-f]{8}\.(partial|aside|commit|listen|samples)$/;

/** Bytes of the name a temporary name keeps: with the owner and kind after it, it stays within 255 bytes. */
const NAME_BYTES = 180;

/** `name`, or for a long one (a long title, a few dozen characters of most scripts) its start and a hash of all of it. */
function shortName(name: string): string {
  if (Buffer.byteLength(name) <= NAME_BYTES) return name;
  return `${fitUtf8(name, NAME_BYTES - 9)}~${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
}

export function tempName(name: string, kind: TempKind = 'partial'): string {
  return `.${shortName(name)}.xumx-${THIS_HOST}-${process.pid}-${RUN}-${randomBytes(4).toString('hex')}.${kind}`;
}

/** A hidden temporary path in the same folder as `path`. */
export function tempPathFor(path: string, kind: TempKind = 'partial'): string {
  return join(dirname(path), tempName(basename(path), kind));
}

export function parseTempName(file: string): TempFile | null {
  const m = PATTERN.exec(file);
  return m ? { file, name: m[1], host: m[2], pid: Number(m[3]), run: m[4], kind: m[5] as TempKind } : null;
}

/**
 * Whether the process of this machine that named `t` has ended. Another user's process that is alive (EPERM) counts
 * as alive; so does any process of another machine (see `isStale`).
 */
export function ownerIsGone(t: Pick<TempFile, 'host' | 'pid' | 'run'>): boolean {
  if (t.host !== THIS_HOST) return false;
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
  const stale: TempFile[] = [];
  for (const t of names.map(parseTempName)) if (t && (await isStale(t, join(dir, t.file)))) stale.push(t);
  return stale;
}

/** Abandoned: its owner on this machine has ended, or it comes from another machine and has not changed for a day. */
export async function isStale(t: Pick<TempFile, 'host' | 'pid' | 'run'>, path: string): Promise<boolean> {
  if (t.host === THIS_HOST) return ownerIsGone(t);
  const st = await lstat(path).catch(() => null);
  return st !== null && Date.now() - st.mtimeMs > FOREIGN_STALE_MS;
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
export function ownerKey(t: Pick<TempFile, 'host' | 'pid' | 'run'>): string {
  return `${t.host}-${t.pid}-${t.run}`;
}
