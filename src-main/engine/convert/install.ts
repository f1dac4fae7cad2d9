// Published X-UMX weights -> installed model: download (resumable) into <modelsDir>/.downloads, convert, install
// as <modelsDir>/<id>, then drop the download. A complete download left by a cancelled conversion is reused.
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { downloadFile, partialPath, type OpenWriter } from './download.ts';
import { importNnablaXumx, type ConvertStage, type ImportResult } from './import-xumx.ts';
import { XUMX_OFFICIAL, type PublishedWeights } from './official.ts';

export type InstallStage = 'download' | ConvertStage;

export interface InstallProgress {
  stage: InstallStage;
  /** Fraction of the download done (null while the size is unknown); null in the conversion stages. */
  fraction: number | null;
  received?: number;
  total?: number | null;
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
}

export interface InstallResult extends ImportResult {
  downloaded: { bytes: number; resumedFrom: number; reused: boolean };
}

export const downloadsDir = (modelsDir: string) => join(modelsDir, '.downloads');

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

export async function installPublishedXumx(opts: InstallOptions): Promise<InstallResult> {
  const source = opts.source ?? XUMX_OFFICIAL;
  const url = opts.url ?? source.url;
  const dest = join(downloadsDir(opts.modelsDir), source.fileName);
  let downloaded: InstallResult['downloaded'];
  if (await exists(dest)) {
    const size = (await stat(dest)).size;
    downloaded = { bytes: size, resumedFrom: size, reused: true };
  } else {
    await mkdir(downloadsDir(opts.modelsDir), { recursive: true }).catch((err) => {
      throw new XumxError('OUTPUT_NOT_WRITABLE', `${opts.modelsDir}: cannot create the models folder (${(err as Error).message})`, opts.modelsDir, { cause: err });
    });
    const r = await downloadFile({
      url, dest, signal: opts.signal, openWriter: opts.openWriter,
      onProgress: (p) => opts.onProgress?.({ stage: 'download', fraction: p.total ? p.received / p.total : null, received: p.received, total: p.total }),
    });
    downloaded = { bytes: r.size, resumedFrom: r.resumedFrom, reused: false };
  }
  try {
    const result = await importNnablaXumx({
      h5Path: dest, modelsDir: opts.modelsDir, source, origin: url, signal: opts.signal,
      onStage: (stage) => opts.onProgress?.({ stage, fraction: null }),
    });
    await rm(dest, { force: true });
    return { ...result, downloaded };
  } catch (err) {
    // A file that is not the expected network is useless: remove it so the next run downloads afresh.
    if (err instanceof XumxError && err.code === 'CONVERT_FAILED') {
      await rm(dest, { force: true });
      await rm(partialPath(dest), { force: true });
      throw new XumxError('CONVERT_FAILED', `${url}: the downloaded file is not the expected X-UMX network and was removed: ${err.message}`, dest, { cause: err });
    }
    throw err;
  }
}
