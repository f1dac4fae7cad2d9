// The estimate cache folder: one file per (song content, model, segment settings), least recently used first out
// when the folder grows past its size cap. "Used" is the file's modification time, touched on every hit, so the
// folder itself is the index and there is no second file that could disagree with it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { EstimateFileReader, EstimateFileWriter, FORMAT_VERSION, type EstimateHeader } from './estimate-file.ts';

export const CACHE_EXT = '.xest';
/** Default cap: about half an hour of 4-source X-UMX estimates (≈ 135 MB per minute of audio). */
export const DEFAULT_CACHE_BYTES = 4 * 1024 ** 3;
/** Temporary files older than this are left over from a crash and are removed. */
const STALE_PARTIAL_MS = 6 * 3600_000;

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

/** sha256 of a file's bytes: the song's identity whatever its name or folder. */
export function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 }).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
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
  async lookup(key: string, expect: Partial<EstimateHeader>, onDiscard?: (e: XumxError) => void): Promise<EstimateFileReader | null> {
    const path = this.pathFor(key);
    try {
      const reader = await EstimateFileReader.open(path, { ...expect, key });
      const now = new Date();
      await utimes(path, now, now).catch(() => {});
      return reader;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      const e = err instanceof XumxError ? err : new XumxError('CACHE_CORRUPT', `${path}: ${(err as Error).message}`, path);
      onDiscard?.(e);
      await this.remove(key);
      return null;
    }
  }

  async writer(header: Omit<EstimateHeader, 'chunks'>): Promise<EstimateFileWriter> {
    await mkdir(this.dir, { recursive: true });
    return EstimateFileWriter.create(this.pathFor(header.key), header);
  }

  async remove(key: string): Promise<void> {
    await rm(this.pathFor(key), { force: true });
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
      if (name.endsWith(CACHE_EXT)) entries.push({ key: name.slice(0, -CACHE_EXT.length), size: st.size, used: st.mtimeMs });
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
    for (const n of names.filter((x) => x.endsWith(CACHE_EXT))) total += (await stat(join(this.dir, n)).catch(() => ({ size: 0 }))).size;
    return total;
  }
}
