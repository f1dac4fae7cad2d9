// Published X-UMX weights -> installed model: check the free space, download (resumable, integrity-checked) into
// <modelsDir>/.downloads, convert on a worker thread, install as <modelsDir>/<id>, then drop the download.
// A complete download left by a cancelled conversion is reused.
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { convertInWorker } from './convert-in-worker.ts';
import { ensureFreeSpace, type StatFs } from './disk-space.ts';
import { downloadFile, partialPath, type OpenWriter } from './download.ts';
import type { ConvertStage, ImportOptions, ImportResult } from './import-xumx.ts';
import { expectedParameters } from './nnabla-xumx.ts';
import { XUMX_OFFICIAL, type PublishedWeights } from './official.ts';
import { TransferRateMeter } from './transfer-rate.ts';
import { makeFolders } from '../folders.ts';

export type InstallStage = 'download' | ConvertStage;

export interface InstallProgress {
  stage: InstallStage;
  /** Fraction of the download done (null while the size is unknown); null in the conversion stages. */
  fraction: number | null;
  received?: number;
  total?: number | null;
  /** Download speed over the last seconds; null until measurable. */
  bytesPerSecond?: number | null;
  secondsLeft?: number | null;
}

export interface InstallOptions {
  modelsDir: string;
  source?: PublishedWeights;
  /** Another address for the same file (a mirror); the default is the publisher's. */
  url?: string;
  signal?: AbortSignal;
  onProgress?: (p: InstallProgress) => void;
  /** Injected file writer for the download (tests simulate a full disk with it). */
  openWriter?: OpenWriter;
  /** Injected free-space query (tests simulate a nearly full disk with it). */
  statfs?: StatFs;
  /** Runs the conversion; default: on a worker thread. */
  convert?: (opts: ImportOptions) => Promise<ImportResult>;
  /** Milliseconds clock for the speed estimate. */
  now?: () => number;
}

export interface InstallResult extends ImportResult {
  downloaded: { bytes: number; resumedFrom: number; reused: boolean };
}

export const downloadsDir = (modelsDir: string) => join(modelsDir, '.downloads');

/** The download's path for a published file, and its .partial beside it. */
export const downloadPath = (modelsDir: string, source: PublishedWeights) =>
  join(downloadsDir(modelsDir), source.fileName);

/** Bytes of X-UMX's float32 parameters: about the size of the published file, and of the converted network. */
export function xumxParameterBytes(): number {
  let n = 0;
  for (const shape of expectedParameters().values()) n += shape.reduce((a, b) => a * b, 1);
  return n * 4;
}

/** Free space an install needs: what is left to download, plus the converted network, plus a margin. */
export function installSpaceNeeded(source: PublishedWeights, downloadTotal: number | null, have: number): number {
  const download = downloadTotal ?? source.size ?? xumxParameterBytes();
  return Math.ceil((Math.max(0, download - have) + xumxParameterBytes()) * 1.05);
}

async function sizeIfFile(path: string): Promise<number | null> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : null;
  } catch {
    return null;
  }
}

export async function installPublishedXumx(opts: InstallOptions): Promise<InstallResult> {
  const source = opts.source ?? XUMX_OFFICIAL;
  const url = opts.url ?? source.url;
  const dest = downloadPath(opts.modelsDir, source);
  const convert = opts.convert ?? convertInWorker;
  const now = opts.now ?? (() => performance.now());
  const what = `installing ${source.name}`;
  let downloaded: InstallResult['downloaded'];
  const complete = await sizeIfFile(dest);
  if (complete !== null) {
    await ensureFreeSpace(opts.modelsDir, installSpaceNeeded(source, complete, complete), what, opts.statfs);
    downloaded = { bytes: complete, resumedFrom: complete, reused: true };
  } else {
    await makeFolders(downloadsDir(opts.modelsDir)).catch((err) => {
      throw new XumxError(
        'OUTPUT_NOT_WRITABLE',
        `${opts.modelsDir}: cannot create the models folder (${(err as Error).message})`,
        opts.modelsDir,
        { cause: err },
      );
    });
    const have = (await sizeIfFile(partialPath(dest))) ?? 0;
    // Refused before any request when even the estimate does not fit; checked again once the server gives the size.
    await ensureFreeSpace(opts.modelsDir, installSpaceNeeded(source, null, have), what, opts.statfs);
    const meter = new TransferRateMeter();
    const r = await downloadFile({
      url,
      dest,
      signal: opts.signal,
      openWriter: opts.openWriter,
      expectedSize: source.size,
      expectedSha256: source.sha256,
      beforeWrite: (info) =>
        ensureFreeSpace(opts.modelsDir, installSpaceNeeded(source, info.total, info.have), what, opts.statfs),
      onProgress: (p) => {
        const rate = meter.sample(now(), p.received, p.total);
        opts.onProgress?.({
          stage: 'download',
          fraction: p.total ? p.received / p.total : null,
          received: p.received,
          total: p.total,
          ...rate,
        });
      },
    });
    downloaded = { bytes: r.size, resumedFrom: r.resumedFrom, reused: false };
  }
  try {
    const result = await convert({
      h5Path: dest,
      modelsDir: opts.modelsDir,
      source,
      origin: url,
      installedAs: 'downloaded',
      signal: opts.signal,
      onStage: (stage) => opts.onProgress?.({ stage, fraction: null }),
    });
    await rm(dest, { force: true });
    return { ...result, downloaded };
  } catch (err) {
    // A file that is not the expected network is useless: remove it so the next run downloads afresh.
    if (err instanceof XumxError && err.code === 'CONVERT_FAILED') {
      await rm(dest, { force: true });
      await rm(partialPath(dest), { force: true });
      throw new XumxError(
        'CONVERT_FAILED',
        `${url}: the downloaded file is not the expected X-UMX network and was removed: ${err.message}`,
        dest,
        { cause: err },
      );
    }
    throw err;
  }
}
