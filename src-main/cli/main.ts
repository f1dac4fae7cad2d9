// The CLI: a thin door over the engine. Parses the command line, expands folders, runs one file after another,
// shows progress (a bar on a terminal, plain lines otherwise) and prints text or the --json document.
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  asXumxError,
  claimStemFile,
  createEngine,
  defaultModelDirs,
  type DspKernels,
  type Engine,
  findPreset,
  loadDspKernels,
  makeFolders,
  noModelError,
  outputError,
  removeEmptyFolders,
  removeStaleTemps,
  type SegmentSettings,
  type StemFileClaim,
  stemFileFromStemFiles,
  tempPathFor,
  XumxError,
} from '../engine/index.ts';
import type { SeparationResult } from '../engine/types.ts';
import { HELP, parseCli, type ModelsListCommand, type SeparateCommand } from './args.ts';
import { flagControlsForModel } from './controls-args.ts';
import { expandInputs } from './inputs.ts';
import { MODELS_INSTALL_HELP, isModelsInstallCommand, modelsInstallMain } from './models-install.ts';
import type { CliIo } from './io.ts';
import { writePresetMix } from './preset-mix.ts';
import {
  ProgressLines,
  jsonDocument,
  modelTable,
  progressBar,
  summary,
  terminalText,
  type FileResult,
} from './render.ts';

export const EXIT = { ok: 0, someFailed: 1, usage: 2 } as const;

export async function main(argv: string[], io: CliIo): Promise<number> {
  if (isModelsInstallCommand(argv)) return modelsInstallMain(argv, io);
  const cmd = parseCli(argv);
  switch (cmd.command) {
    case 'usage-error':
      return usageError(cmd.message, io);
    case 'help':
      io.out(`${HELP}\nmodels install / import:\n${MODELS_INSTALL_HELP}`);
      return EXIT.ok;
    case 'models-list':
      return listModels(cmd, io);
    case 'separate':
      return separate(cmd, io);
  }
}

function usageError(message: string, io: CliIo): number {
  io.err(`xumx-studio: ${terminalText(message)}\nRun "xumx-studio --help" for usage.\n`);
  return EXIT.usage;
}

function engineFor(modelDirs: string[], env: NodeJS.ProcessEnv, cacheDir?: string): { engine: Engine; dirs: string[] } {
  const dirs = [...new Set([...defaultModelDirs(), ...modelDirs.map((d) => resolve(d))])];
  // Test hooks, not user options: random-weight test networks and segment sizes for small fixtures.
  const allowTestModels = env.XUMX_STUDIO_ALLOW_TEST_MODELS === '1';
  const seg = env.XUMX_STUDIO_SEGMENTS?.split(',').map(Number);
  const segments: Partial<SegmentSettings> | undefined =
    seg?.length === 3 && seg.every(Number.isInteger)
      ? { segmentFrames: seg[0], overlapFrames: seg[1], batch: seg[2] }
      : undefined;
  const cache = cacheDir !== undefined ? { dir: resolve(cacheDir) } : undefined;
  return { engine: createEngine({ modelDirs: dirs, allowTestModels, segments, cache }), dirs };
}

async function listModels(cmd: ModelsListCommand, io: CliIo): Promise<number> {
  const { engine, dirs } = engineFor(cmd.modelDirs, io.env);
  const models = await engine.listModels();
  await engine.dispose();
  if (cmd.json) io.out(`${JSON.stringify({ models }, null, 2)}\n`);
  else if (models.length === 0) io.out(`${terminalText(noModelError(dirs).message)}\n`);
  else io.out(`${modelTable(models)}\n`);
  return EXIT.ok;
}

async function separate(cmd: SeparateCommand, io: CliIo): Promise<number> {
  const { engine, dirs } = engineFor(cmd.modelDirs, io.env, cmd.cacheDir);
  const results: FileResult[] = [];
  try {
    const models = await engine.listModels();
    // The flags' sources are checked once, before any file, against the model's (its manifest; the network is not
    // opened). A model that is not installed fails each file, naming those that are.
    const model = cmd.model === undefined ? models[0] : models.find((m) => m.id === cmd.model);
    const controls = model ? flagControlsForModel(cmd, model) : { ok: true as const, value: cmd };
    if (!controls.ok) return usageError(controls.message, io);
    const { strength, bleed } = controls.value;
    const { files, problems } = await expandInputs(cmd.inputs);
    for (const p of problems) {
      const r: FileResult = { input: p.input, ok: false, error: { code: p.error.code, message: p.error.message } };
      results.push(r);
      if (!cmd.json) io.err(`${summary(r, 0)}\n`);
    }
    if (cmd.model === undefined && models.length === 0) {
      const e = noModelError(dirs);
      if (!cmd.json) io.err(`xumx-studio: ${terminalText(e.message)}\n`);
      results.push(
        ...files.map((input) => ({ input, ok: false as const, error: { code: e.code, message: e.message } })),
      );
      if (cmd.json) io.out(`${jsonDocument(results)}\n`);
      return EXIT.someFailed;
    }
    // The stem file's and the mix's integer samples are made on this thread: on the kernels, several times faster.
    const kernels = cmd.stemFile || cmd.mix ? await loadDspKernels() : undefined;
    let interrupted = false;
    for (const input of files) {
      if (interrupted) {
        results.push({
          input,
          ok: false,
          error: { code: 'CANCELLED', message: `${input}: not started (interrupted)` },
        });
        continue;
      }
      const controller = new AbortController();
      io.onInterrupt(() => {
        interrupted = true;
        controller.abort();
      });
      const lines = new ProgressLines();
      const t0 = performance.now();
      const work = cmd.stemFile ? await stemFileWorkFolder(cmd.out) : null;
      const separated =
        work instanceof XumxError
          ? { input, ok: false as const, error: { code: work.code, message: work.message } }
          : await engine.separate(
              {
                input,
                outDir: work?.path ?? cmd.out,
                ep: cmd.ep,
                format: cmd.format,
                bitDepth: cmd.bitDepth,
                ...(cmd.model !== undefined ? { modelId: cmd.model } : {}),
                ...(cmd.timePitch ? { timePitch: cmd.timePitch } : {}),
                // What the flags leave out is the model's recommendation, unless --neutral.
                ...(cmd.neutral ? { controlsBase: 'neutral' as const } : {}),
                controls: {
                  residual: cmd.residual,
                  ...(cmd.wienerIterations !== undefined ? { wienerIterations: cmd.wienerIterations } : {}),
                  ...(strength ? { strength } : {}),
                  ...(bleed ? { bleed } : {}),
                },
              },
              {
                signal: controller.signal,
                onProgress: (p) => {
                  if (io.tty) io.err(`\r${progressBar(input, p, io.columns)}\x1b[K`);
                  else if (!cmd.json) {
                    const line = lines.next(input, p);
                    if (line) io.err(`${line}\n`);
                  }
                },
              },
            );
      if (io.tty) io.err('\r\x1b[K');
      // Ctrl-C still cancels cleanly while the stem file is written.
      const result =
        work && !(work instanceof XumxError)
          ? await intoStemFile(cmd, separated, work, controller.signal, kernels)
          : separated;
      io.onInterrupt(null);
      // The file's line says how it ended, its mix included.
      const done = cmd.mix ? await withPresetMix(cmd, result, kernels) : result;
      results.push(done);
      if (!cmd.json) (done.ok ? io.out : io.err)(`${summary(done, (performance.now() - t0) / 1000)}\n`);
    }
  } finally {
    await engine.dispose();
  }
  if (cmd.json) io.out(`${jsonDocument(results)}\n`);
  return results.every((r) => r.ok) && results.length > 0 ? EXIT.ok : EXIT.someFailed;
}

interface StemFileWork {
  /** A hidden folder in the output folder for the float WAV stems a stem file is made from. */
  path: string;
  /** The outermost folder made for it (the output folder or one above), removed again if the file fails. */
  made: string | null;
  /** What clearing the leftovers of killed runs from the output folder could not do. */
  notices: string[];
}

async function stemFileWorkFolder(out: string): Promise<StemFileWork | XumxError> {
  try {
    const made = (await makeFolders(out)) ?? null;
    const notices = await removeStaleTemps(out);
    const path = tempPathFor(join(out, 'stem-file'));
    await mkdir(path);
    return { path, made, notices };
  } catch (err) {
    return outputError(err, out);
  }
}

/** Turns the separated WAV stems into the song's stem file (claimStemFile), then removes them; a failure fails the file. */
async function intoStemFile(
  cmd: SeparateCommand,
  result: SeparationResult,
  work: StemFileWork,
  signal: AbortSignal,
  kernels: DspKernels | undefined,
): Promise<FileResult> {
  let ok = false;
  let claim: StemFileClaim | null = null;
  try {
    if (!result.ok) return result;
    claim = await claimStemFile(cmd.out, result.input);
    const { codec, notice } = cmd.stemFile!;
    const notices = await stemFileFromStemFiles(result.stems, claim.path, {
      codec,
      songTitle: result.title,
      signal,
      kernels,
    });
    ok = true;
    return {
      ...result,
      stems: {},
      stemFile: claim.path,
      notices: [...result.notices, ...work.notices, ...(notice ? [notice] : []), ...notices],
    };
  } catch (err) {
    const e = asXumxError(err, result.input);
    return { input: result.input, ok: false, error: { code: e.code, message: e.message } };
  } finally {
    await rm(work.path, { recursive: true, force: true });
    if (!ok) await claim?.release();
    if (!ok && work.made) await removeEmptyFolders(resolve(cmd.out), work.made);
  }
}

/** Adds the preset's mix to a separated file; a mix that cannot be written fails the file (its stems stay). */
async function withPresetMix(
  cmd: SeparateCommand,
  result: SeparationResult,
  kernels: DspKernels | undefined,
): Promise<FileResult> {
  const preset = cmd.preset !== undefined ? findPreset(cmd.preset) : undefined;
  if (!result.ok || !preset) return result;
  try {
    const mix = await writePresetMix({
      input: result.input,
      stems: result.stems,
      preset,
      format: cmd.format,
      bitDepth: cmd.bitDepth,
      title: result.title,
      kernels,
    });
    return { ...result, mix: mix.path, notices: [...result.notices, ...mix.notices] };
  } catch (err) {
    const e = err as XumxError;
    return { input: result.input, ok: false, error: { code: e.code, message: e.message } };
  }
}
