// How a model folder came to be where it is. A bundled model is known by the folder it lives in; a download or an
// import writes origin.json beside the manifest as part of the folder it installs, so the app can tell them apart.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelOrigin } from '../types.ts';

export const ORIGIN_FILE = 'origin.json';

export interface OriginRecord {
  origin: Exclude<ModelOrigin, 'bundled'>;
  /** The address or file the model was installed from. */
  from: string;
  /** ISO 8601 time of the install. */
  installedAt: string;
}

export function originText(origin: OriginRecord['origin'], from: string, now = new Date()): string {
  return `${JSON.stringify({ origin, from, installedAt: now.toISOString() } satisfies OriginRecord, null, 2)}\n`;
}

/** A folder without a readable origin.json outside the bundled folder was put there by hand: imported. */
export async function readOrigin(dir: string, bundled: boolean): Promise<ModelOrigin> {
  if (bundled) return 'bundled';
  try {
    const r = JSON.parse(await readFile(join(dir, ORIGIN_FILE), 'utf8')) as Partial<OriginRecord>;
    return r.origin === 'downloaded' ? 'downloaded' : 'imported';
  } catch {
    return 'imported';
  }
}
