// `xumx-studio models install xumx-official [--url URL]` and `xumx-studio models import <x-umx.h5>`: a thin door
// over engine/convert. main.ts hands it the arguments after "models" when they start with install or import.
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  asXumxError,
  defaultModelDirs,
  importModel,
  type InstallProgress,
  installPublishedXumx,
  type PublishedWeights,
  userModelsDir,
  XUMX_OFFICIAL,
  XumxError,
} from '../engine/index.ts';
import type { CliIo } from './io.ts';

export const MODELS_INSTALL_HELP = `  xumx-studio models install xumx-official [--url URL] [--models-dir DIR] [--json]
      Download Sony's official X-UMX weights (x-umx.h5, ${XUMX_OFFICIAL.url}),
      check every parameter, convert them to ONNX on this machine and install them.
      An interrupted download resumes where it stopped. --url: a mirror of the same file.
  xumx-studio models import <x-umx.h5 | model folder | model.zip> [--id ID] [--models-dir DIR] [--json]
      The same from a file you downloaded yourself (for machines without internet), or a model
      folder (manifest.json + ONNX, see models/README.md) or a .zip of one, checked before it is installed.
      --models-dir: where to install (default: your models folder, ${userModelsDir()})
`;

const INSTALLABLE: Record<string, PublishedWeights> = { [XUMX_OFFICIAL.id]: XUMX_OFFICIAL };

/** Whether the command line is a models install/import command, which modelsInstallMain handles. */
export function isModelsInstallCommand(argv: string[]): boolean {
  return argv[0] === 'models' && (argv[1] === 'install' || argv[1] === 'import');
}

function humanBytes(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

function progressLine(p: InstallProgress): string {
  if (p.stage === 'download') {
    const got = humanBytes(p.received ?? 0);
    return p.total
      ? `downloading ${got} of ${humanBytes(p.total)} (${Math.floor((p.fraction ?? 0) * 100)}%)`
      : `downloading ${got}`;
  }
  return {
    validate: 'checking the parameters',
    read: 'reading the weights',
    build: 'building the ONNX graph',
    write: 'writing the model',
  }[p.stage];
}

/** `argv` is the whole command line after the program name: ["models", "install" or "import", ...]. */
export async function modelsInstallMain(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.slice(2),
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        id: { type: 'string' },
        'models-dir': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    io.err(`xumx-studio: ${(err as Error).message}\nRun "xumx-studio --help" for usage.\n`);
    return 2;
  }
  const { values: v, positionals } = parsed;
  const action = argv[1];
  const usage = (m: string) => {
    io.err(`xumx-studio: ${m}\n${MODELS_INSTALL_HELP}`);
    return 2;
  };
  if (positionals.length !== 1)
    return usage(
      action === 'install'
        ? 'models install needs a model name (xumx-official)'
        : 'models import needs one .h5 file, model folder or .zip',
    );
  if (action === 'install' && v.id) return usage('--id applies to "models import" only');
  if (action === 'import' && v.url) return usage('--url applies to "models install" only');
  if (v.id !== undefined && !/^[a-z0-9][a-z0-9._-]{0,63}$/.test(v.id))
    return usage(`--id "${v.id}" must be lower-case letters, digits, ".", "_" or "-"`);
  const modelsDir = resolve(v['models-dir'] ?? userModelsDir());

  const controller = new AbortController();
  io.onInterrupt(() => controller.abort());
  let lastLine = '';
  let lastAt = 0;
  const onProgress = (p: InstallProgress) => {
    if (v.json) return;
    const line = progressLine(p);
    const now = performance.now();
    if (io.tty) {
      if (now - lastAt > 100 || p.stage !== 'download') io.err(`\r${line}\x1b[K`);
    } else if (line !== lastLine && (p.stage !== 'download' || now - lastAt > 2000)) io.err(`${line}\n`);
    else return;
    lastLine = line;
    lastAt = now;
  };

  try {
    let result;
    if (action === 'install') {
      const source = INSTALLABLE[positionals[0]];
      if (!source)
        return usage(`unknown model "${positionals[0]}" (installable: ${Object.keys(INSTALLABLE).join(', ')})`);
      result = await installPublishedXumx({
        modelsDir,
        source,
        ...(v.url ? { url: v.url } : {}),
        signal: controller.signal,
        onProgress,
      });
    } else {
      const r = await importModel(positionals[0], {
        modelsDir,
        modelDirs: [...defaultModelDirs(), modelsDir],
        ...(v.id ? { id: v.id } : {}),
        signal: controller.signal,
        onStage: (stage) => {
          if (stage !== 'unpack' && stage !== 'check' && stage !== 'copy') onProgress({ stage, fraction: null });
        },
      });
      const manifest = JSON.parse(await readFile(join(r.dir, 'manifest.json'), 'utf8')) as {
        sha256: string;
        size: number;
      };
      result = { ...r, sha256: manifest.sha256, size: manifest.size };
    }
    if (io.tty && !v.json) io.err('\r\x1b[K');
    if (v.json)
      io.out(
        `${JSON.stringify({ ok: true, id: result.id, dir: result.dir, sha256: result.sha256, size: result.size, notes: result.notes })}\n`,
      );
    else {
      io.out(
        `installed model "${result.id}" in ${result.dir} (${humanBytes(result.size)}, sha256 ${result.sha256.slice(0, 12)}…)\n`,
      );
      for (const n of result.notes) io.err(`note: ${n}\n`);
    }
    return 0;
  } catch (err) {
    if (io.tty && !v.json) io.err('\r\x1b[K');
    const e = err instanceof XumxError ? err : asXumxError(err);
    if (v.json) io.out(`${JSON.stringify({ ok: false, error: { code: e.code, message: e.message } })}\n`);
    else io.err(`xumx-studio: ${e.message}\n`);
    return 1;
  } finally {
    io.onInterrupt(null);
  }
}
