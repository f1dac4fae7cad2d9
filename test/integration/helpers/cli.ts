// Runs the real CLI (bin/xumx-studio.mjs) as a user would, isolated from the machine's own model folders.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFile, type DecodedAudio } from '../../../src-main/engine/audio/decode.ts';
import type { FileResult } from '../../../src-main/cli/render.ts';
import { ROOT } from './models.ts';

export const BIN = join(ROOT, 'bin', 'xumx-studio.mjs');

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Extra environment; by default no bundled or user models and test networks allowed. */
  env?: Record<string, string>;
  /** Called once with the child, e.g. to interrupt it. */
  onSpawn?(child: ChildProcess): void;
  onStderr?(text: string, child: ChildProcess): void;
  /** Run as this user id (and group), e.g. `nobody`, where root would be allowed everything. */
  uid?: number;
  gid?: number;
  /** Kills the run after this long (SIGKILL; the result has signal 'SIGKILL'), so a hang fails instead of waiting forever. */
  timeoutMs?: number;
}

const EMPTY = mkdtempSync(join(tmpdir(), 'xumx-no-models-'));

export function isolatedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    NODE_OPTIONS: '',
    XUMX_STUDIO_BUNDLED_MODELS: EMPTY,
    XUMX_STUDIO_MODELS: EMPTY,
    XUMX_STUDIO_ALLOW_TEST_MODELS: '1',
    ...extra,
  };
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: isolatedEnv(opts.env),
      ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid ?? opts.uid } : {}),
    });
    let stdout = '',
      stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
      opts.onStderr?.(String(d), child);
    });
    const timer = opts.timeoutMs === undefined ? null : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    opts.onSpawn?.(child);
  });
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `xumx-${prefix}-`));
}

/** Every file under `dir` (relative paths), hidden ones included: "nothing written" means this is empty. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) {
        out.push(`${rel}${n}/`);
        walk(p, `${rel}${n}/`);
      } else out.push(`${rel}${n}`);
    }
  };
  walk(dir, '');
  return out;
}

/** What `separate --json` says of a file it separated. */
export type SeparatedFile = Extract<FileResult, { ok: true }>;

/**
 * `separate SONG --out OUT --models-dir MODELS --ep cpu --bit-depth 32f --json ...flags`, which must succeed: its one
 * file's entry, every stem decoded (`audio`) and their samples per channel (`stems`).
 */
export async function separateOne(
  song: string,
  models: string,
  ...flags: string[]
): Promise<{ file: SeparatedFile; audio: Record<string, DecodedAudio>; stems: Record<string, Float32Array[]> }> {
  const args = ['separate', song, '--out', tempDir('out'), '--models-dir', models, '--ep', 'cpu', '--bit-depth', '32f'];
  const run = await runCli([...args, '--json', ...flags]);
  assert.equal(run.code, 0, run.stderr);
  const [file] = JSON.parse(run.stdout).files as SeparatedFile[];
  const audio: Record<string, DecodedAudio> = {};
  for (const [source, path] of Object.entries(file.stems)) audio[source] = await decodeFile(path);
  const stems = Object.fromEntries(Object.entries(audio).map(([source, a]) => [source, a.channels]));
  return { file, audio, stems };
}
