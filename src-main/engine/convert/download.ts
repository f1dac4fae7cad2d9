// Downloads a model file over HTTP(S) to `<dest>.partial`, resuming from what is already there with a Range
// request, and renames it to `dest` only when it is complete and looks like the expected kind of file. A cancel,
// a dropped connection or a full disk leave the .partial in place so the next run resumes it.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { XumxError } from '../errors.ts';
import { HDF5_HEAD_BYTES, hasHdf5Signature, hdf5DeclaredSize } from './nnabla-h5.ts';

export interface DownloadProgress {
  /** Bytes in the .partial file so far (including those from an earlier run). */
  received: number;
  /** Size of the whole file, null while the server has not said. */
  total: number | null;
  /** Bytes that were already there when this run started. */
  resumedFrom: number;
}

/** The few file operations a download needs; tests pass a failing one to simulate a full disk. */
export interface FileWriter {
  write(chunk: Uint8Array): Promise<void>;
  close(): Promise<void>;
}
export type OpenWriter = (path: string, append: boolean) => Promise<FileWriter>;

export interface DownloadOptions {
  url: string;
  dest: string;
  /** Exact size, when known in advance; any other size is an error. */
  expectedSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  /** Checks the first bytes of the file; returns why it is not the expected file, or null. Default: HDF5. */
  checkHead?: (head: Uint8Array) => string | null;
  /** Checks the complete file's head against its size (default: the size the HDF5 superblock declares). */
  declaredSize?: (head: Uint8Array) => number | null;
  openWriter?: OpenWriter;
  /** Published sha256 of the whole file; a different one removes the file and fails with DOWNLOAD_CORRUPT. */
  expectedSha256?: string;
  /**
   * Called once the server has answered and before anything is written, with the file's size (when announced) and
   * the bytes already there; a throw (e.g. DISK_FULL from a free-space check) ends the download, keeping the .partial.
   */
  beforeWrite?: (info: { total: number | null; have: number }) => Promise<void>;
}

export interface DownloadResult {
  path: string;
  size: number;
  resumedFrom: number;
}

export const partialPath = (dest: string) => `${dest}.partial`;

const defaultOpenWriter: OpenWriter = async (path, append) => {
  const fh: FileHandle = await open(path, append ? 'a' : 'w');
  return {
    async write(chunk) {
      let off = 0;
      while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
    },
    close: () => fh.close(),
  };
};

/** Why a file head is not an HDF5 file, in words a user can act on. */
export function hdf5HeadProblem(head: Uint8Array): string | null {
  if (hasHdf5Signature(head)) return null;
  const text = Buffer.from(head.subarray(0, 64)).toString('latin1').trimStart().toLowerCase();
  if (text.startsWith('<!doctype') || text.startsWith('<html') || text.startsWith('<?xml') || text.startsWith('<')) {
    return 'the server sent a web page (HTML) instead of the file';
  }
  return 'the data is not an HDF5 file';
}

async function readHead(path: string): Promise<Uint8Array> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(HDF5_HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

/** Parses a Content-Range header: "bytes 100-199/1000" gives start 100 and total 1000; an unsatisfied range gives start null. */
export function parseContentRange(v: string | null): { start: number | null; total: number | null } | null {
  if (!v) return null;
  const m = /^bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)$/i.exec(v.trim());
  if (!m) return null;
  return { start: m[1] !== undefined ? Number(m[1]) : null, total: m[2] === '*' ? null : Number(m[2]) };
}

function fail(url: string, dest: string, reason: string, cause?: unknown): XumxError {
  return new XumxError('DOWNLOAD_FAILED', `${url}: ${reason}`, dest, cause ? { cause } : undefined);
}

function isAbort(err: unknown, signal?: AbortSignal): boolean {
  return Boolean(signal?.aborted) || (err as Error)?.name === 'AbortError';
}

export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const { url, dest, signal } = opts;
  const checkHead = opts.checkHead ?? hdf5HeadProblem;
  const declaredSize = opts.declaredSize ?? hdf5DeclaredSize;
  const openWriter = opts.openWriter ?? defaultOpenWriter;
  const partial = partialPath(dest);
  const cancelled = () =>
    new XumxError('CANCELLED', `${url}: download cancelled; ${partial} is kept and the next run resumes it`, partial);
  if (signal?.aborted) throw cancelled();

  let have = await sizeOf(partial);
  if (have > 0 && checkHead(await readHead(partial)) !== null) {
    // What is there is not the start of the right file (e.g. an error page from an earlier run): start over.
    await rm(partial, { force: true });
    have = 0;
  }

  let res: Response;
  try {
    res = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal, redirect: 'follow' });
  } catch (err) {
    if (isAbort(err, signal)) throw cancelled();
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new XumxError(
      'NO_NETWORK',
      `${url}: cannot reach the server (${why}); check the internet connection (or the address) and try again`,
      dest,
      { cause: err },
    );
  }

  let total: number | null = null;
  let append = false;
  const range = parseContentRange(res.headers.get('content-range'));
  if (res.status === 416 && have > 0 && range?.total === have) {
    // The earlier run had everything; only the final check and rename were missing.
    await res.body?.cancel();
    total = have;
  } else if (res.status === 416) {
    await res.body?.cancel();
    await rm(partial, { force: true });
    throw fail(
      url,
      dest,
      `the server refused to resume (HTTP 416); the partial file was removed, run again to start over`,
    );
  } else if (!res.ok) {
    await res.body?.cancel();
    throw fail(url, dest, `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
  } else {
    const type = res.headers.get('content-type') ?? '';
    if (/text\/html|application\/xhtml/i.test(type)) {
      await res.body?.cancel();
      throw fail(url, dest, `the server sent a web page (${type}) instead of the file; the address may have moved`);
    }
    const length = res.headers.get('content-length');
    if (res.status === 206 && have > 0 && range?.start === have) {
      append = true;
      total = range.total ?? (length !== null ? have + Number(length) : null);
    } else {
      // A plain 200 (the server ignored the Range header, or there was nothing to resume): start from zero.
      have = 0;
      total = length !== null ? Number(length) : null;
    }
  }
  if (opts.expectedSize !== undefined && total !== null && total !== opts.expectedSize) {
    await res.body?.cancel().catch(() => undefined);
    throw fail(url, dest, `the server offers ${total} bytes, ${opts.expectedSize} were expected`);
  }

  if (opts.beforeWrite) {
    try {
      await opts.beforeWrite({ total, have });
    } catch (err) {
      await res.body?.cancel().catch(() => undefined);
      throw err;
    }
  }

  const resumedFrom = have;
  let received = have;
  if (res.status !== 416) {
    let writer: FileWriter;
    try {
      writer = await openWriter(partial, append);
    } catch (err) {
      await res.body?.cancel().catch(() => undefined);
      throw writeError(err, url, partial);
    }
    let headChecked = append;
    let head: Uint8Array = new Uint8Array(0);
    try {
      opts.onProgress?.({ received, total, resumedFrom });
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        if (!headChecked) {
          head = concat(head, chunk);
          if (head.byteLength >= 8) {
            const problem = checkHead(head);
            if (problem) throw fail(url, dest, problem);
            headChecked = true;
          }
        }
        try {
          await writer.write(chunk);
        } catch (err) {
          throw writeError(err, url, partial);
        }
        received += chunk.byteLength;
        opts.onProgress?.({ received, total, resumedFrom });
      }
    } catch (err) {
      await writer.close().catch(() => undefined);
      if (err instanceof XumxError && err.code === 'DOWNLOAD_FAILED' && !headChecked)
        await rm(partial, { force: true });
      if (err instanceof XumxError) throw err;
      if (isAbort(err, signal)) throw cancelled();
      throw fail(
        url,
        dest,
        `the connection broke after ${received} bytes (${(err as Error).message}); run again to resume`,
        err,
      );
    }
    await writer.close();
    if (!headChecked) {
      const problem = head.byteLength === 0 ? 'the server sent an empty file' : checkHead(head);
      if (problem) {
        await rm(partial, { force: true });
        throw fail(url, dest, problem);
      }
    }
  }

  if (total !== null && received < total) {
    throw fail(url, dest, `the download stopped after ${received} of ${total} bytes; run again to resume`);
  }
  if (total !== null && received > total) {
    await rm(partial, { force: true });
    throw fail(url, dest, `the server sent ${received} bytes but announced ${total}`);
  }
  const declared = declaredSize(await readHead(partial));
  if (declared !== null && declared !== received) {
    if (received < declared)
      throw fail(url, dest, `the file is truncated (${received} of ${declared} bytes); run again to resume`);
    await rm(partial, { force: true });
    throw fail(url, dest, `the file is ${received} bytes but declares ${declared}`);
  }
  if (opts.expectedSize !== undefined && received !== opts.expectedSize) {
    await rm(partial, { force: true });
    throw fail(url, dest, `received ${received} bytes, ${opts.expectedSize} were expected`);
  }
  if (opts.expectedSha256) {
    let digest: string;
    try {
      digest = await sha256Of(partial, signal);
    } catch (err) {
      if (isAbort(err, signal)) throw cancelled();
      throw err;
    }
    if (digest !== opts.expectedSha256.toLowerCase()) {
      await rm(partial, { force: true });
      throw new XumxError(
        'DOWNLOAD_CORRUPT',
        `${url}: the downloaded file is corrupt or not the published one (sha256 ${digest.slice(0, 12)}…, published ` +
          `${opts.expectedSha256.slice(0, 12)}…); it was removed, try again`,
        dest,
      );
    }
  }
  if (signal?.aborted) throw cancelled();
  await rename(partial, dest);
  return { path: dest, size: received, resumedFrom };
}

async function sha256Of(path: string, signal?: AbortSignal): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { signal })) h.update(chunk as Buffer);
  return h.digest('hex');
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function writeError(err: unknown, url: string, partial: string): XumxError {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new XumxError(
      'DISK_FULL',
      `${partial}: the disk is full while downloading ${url}; free some space and run again to resume`,
      partial,
      { cause: err },
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new XumxError('OUTPUT_NOT_WRITABLE', `${partial}: cannot write the download here (${code})`, partial, {
      cause: err,
    });
  }
  return new XumxError(
    'DOWNLOAD_FAILED',
    `${partial}: cannot write the download (${(err as Error).message ?? err})`,
    partial,
    { cause: err },
  );
}
