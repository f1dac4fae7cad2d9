// The estimate cache folder: one file per (song content, model) — the segment settings it was made with are in the
// file's header — least recently used first out when the folder grows past its size cap. "Used" is the file's
// modification time, touched on every hit, so the folder itself is the index and there is no second file that could
// disagree with it.
import { createHash } from 'node:crypto';
import { readFile, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openRegularFile } from '../audio/regular-file.ts';
import { XumxError } from '../errors.ts';
import { EstimateFileReader, EstimateFileWriter, FORMAT_VERSION, type EstimateHeader } from './estimate-file.ts';
import type { SongAnalysis } from '../types.ts';
import type { DspKernels } from '../dsp/kernels/index.ts';
import { makeFolders } from '../folders.ts';

export const CACHE_EXT = '.xest';
/** The song's analysis beside its estimates: measured once, gone when the entry goes. */
export const ANALYSIS_EXT = '.analysis.json';
/** Default cap: about half an hour of 4-source X-UMX estimates (≈ 135 MB per minute of audio). */
export const DEFAULT_CACHE_BYTES = 4 * 1024 ** 3;
/** Temporary files older than this are left over from a crash and are removed. */
const STALE_PARTIAL_MS = 6 * 3600_000;
const HASH_BLOCK_BYTES = 1 << 20;

export interface EstimateCacheOptions {
  dir: string;
  maxBytes?: number;
}

/**
 * What decides whether cached estimates answer a job: the audio bytes and the network. How the song was cut into
 * chunks is recorded in the entry's header and a re-render cuts it the same way, whichever provider runs now.
 */
export interface EstimateKeyParts {
  inputSha256: string;
  modelSha256: string;
}

export function estimateKey(p: EstimateKeyParts): string {
  const canonical = JSON.stringify({ v: FORMAT_VERSION, input: p.inputSha256, model: p.modelSha256 });
  return createHash('sha256').update(canonical).digest('hex');
}

/**
 * sha256 of a song's bytes: its identity whatever its name or folder. Only a regular file is read (a pipe or a
 * device would never end), and `signal` stops the reading between blocks.
 */
export async function hashFile(path: string, signal?: AbortSignal): Promise<string> {
  const cancelled = () => new XumxError('CANCELLED', `${path}: cancelled`, path);
  if (signal?.aborted) throw cancelled();
  const { fh } = await openRegularFile(path);
  try {
    const h = createHash('sha256');
    const block = Buffer.allocUnsafe(HASH_BLOCK_BYTES);
    for (let at = 0; ;) {
      if (signal?.aborted) throw cancelled();
      const { bytesRead } = await fh.read(block, 0, block.length, at);
      if (bytesRead === 0) return h.digest('hex');
      h.update(block.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

export class EstimateCache {
  readonly dir: string;
  readonly maxBytes: number;

  constructor(opts: EstimateCacheOptions) {
    this.dir = opts.dir;
    this.maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
  }

  pathFor(key: string): string {
    return join(this.dir, `${key}${CACHE_EXT}`);
  }

  /**
   * Opens the entry for `key`, or null when there is none. A corrupt or mismatching entry is deleted and reported
   * as null too (the caller recomputes); `onDiscard` hears why.
   */
  async lookup(
    key: string,
    expect: Partial<EstimateHeader>,
    onDiscard?: (e: XumxError) => void,
  ): Promise<EstimateFileReader | null> {
    const path = this.pathFor(key);
    try {
      const reader = await EstimateFileReader.open(path, { ...expect, key });
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return reader;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      const e =
        err instanceof XumxError ? err : new XumxError('CACHE_CORRUPT', `${path}: ${(err as Error).message}`, path);
      onDiscard?.(e);
      await this.remove(key).catch(() => {}); // what cannot be removed is found corrupt again, never used
      return null;
    }
  }

  /** Why this folder cannot hold the cache (a file is in the way, it cannot be created), or null when it can. */
  async unusable(): Promise<string | null> {
    try {
      await makeFolders(this.dir);
      return null;
    } catch (err) {
      const st = await stat(this.dir).catch(() => null);
      if (st && !st.isDirectory()) return `${this.dir} is a file, not a folder`;
      return `${this.dir} cannot be made a folder (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
    }
  }

  /** `kernels`: see EstimateFileWriter.create. */
  async writer(header: Omit<EstimateHeader, 'chunks'>, kernels?: DspKernels): Promise<EstimateFileWriter> {
    await makeFolders(this.dir);
    return EstimateFileWriter.create(this.pathFor(header.key), header, kernels);
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true });
    await rm(join(this.dir, `${key}${ANALYSIS_EXT}`), { force: true });
  }

  /** The analysis kept for `key`; null when there is none or it cannot be read (it is then measured again). */
  async readAnalysis(key: string): Promise<SongAnalysis | null> {
    try {
      const a = JSON.parse(await readFile(join(this.dir, `${key}${ANALYSIS_EXT}`), 'utf8')) as SongAnalysis;
      return typeof a?.bpm === 'number' && Array.isArray(a.beats) && Array.isArray(a.downbeats) ? a : null;
    } catch {
      return null;
    }
  }

  /** Keeps the analysis beside the entry; a failed write only means it is measured again next time. */
  async writeAnalysis(key: string, analysis: SongAnalysis): Promise<void> {
    const path = join(this.dir, `${key}${ANALYSIS_EXT}`);
    const partial = `${path}.${process.pid}.partial`;
    try {
      await writeFile(partial, JSON.stringify(analysis));
      await rename(partial, path);
    } catch {
      await rm(partial, { force: true }).catch(() => {});
    }
  }

  /** Deletes least recently used entries until the folder fits the cap; `keep` (the entry just written) stays. */
  async evict(keep?: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return [];
    }
    const now = Date.now();
    const entries: { key: string; size: number; used: number }[] = [];
    for (const name of names) {
      const path = join(this.dir, name);
      const st = await stat(path).catch(() => null);
      if (!st?.isFile()) continue;
      if (name.endsWith('.partial')) {
        if (now - st.mtimeMs > STALE_PARTIAL_MS) await rm(path, { force: true });
        continue;
      }
      if (name.endsWith(CACHE_EXT))
        entries.push({ key: name.slice(0, -CACHE_EXT.length), size: st.size, used: st.mtimeMs });
    }
    let total = entries.reduce((n, e) => n + e.size, 0);
    const evicted: string[] = [];
    for (const e of entries.sort((a, b) => a.used - b.used)) {
      if (total <= this.maxBytes) break;
      if (e.key === keep) continue;
      await this.remove(e.key);
      total -= e.size;
      evicted.push(e.key);
    }
    return evicted;
  }

  /** Total bytes of committed entries. */
  async size(): Promise<number> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    let total = 0;
    for (const n of names.filter((x) => x.endsWith(CACHE_EXT)))
      total += (await stat(join(this.dir, n)).catch(() => ({ size: 0 }))).size;
    return total;
  }
}
