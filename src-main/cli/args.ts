// The CLI's command line → a typed command. Pure: no I/O, so every usage rule is tested without a terminal.
import { parseArgs } from 'node:util';
import {
  SEMITONE_RANGE,
  stemFileCodec,
  type StemFileCodec,
  TEMPO_RANGE,
  type TimePitch,
  timePitchProblem,
} from '../engine/index.ts';
import {
  BIT_DEPTHS,
  EP_CHOICES,
  OUTPUT_FORMATS,
  type BitDepth,
  type EpChoice,
  type OutputFormat,
} from '../engine/types.ts';
import { AUDIO_EXTENSIONS } from '../api/contract.ts';
import { controlsFromFlags, type FlagSources } from './controls-args.ts';
import { readNumber } from './numbers.ts';

export interface SeparateCommand {
  command: 'separate';
  inputs: string[];
  out: string;
  model?: string;
  ep: EpChoice;
  format: OutputFormat;
  bitDepth: BitDepth;
  /** Write one Native Instruments stem file per song (DIR/<song>.stem.mp4, numbered like stem folders) instead of one file per stem. */
  stemFile?: { codec: StemFileCodec; notice?: string };
  wienerIterations?: number;
  residual: boolean;
  /** Start from neutral controls instead of the model's recommended ones (the request's controlsBase). */
  neutral?: boolean;
  /** Per-source separation strength and bleed reduction (a --preset's merged with the flags). */
  strength?: Record<string, number>;
  bleed?: Record<string, number>;
  /** The sources --strength and --bleed name themselves, checked against the model's before any file is separated. */
  flagSources?: FlagSources;
  preset?: string;
  /** Also write the preset's mix next to the stems (needs preset). */
  mix?: boolean;
  /** Tempo and key the stems (and the mix) are written at; absent: the song's own. */
  timePitch?: TimePitch;
  /** Keeps network estimates here so a re-run with other controls skips the network. */
  cacheDir?: string;
  modelDirs: string[];
  json: boolean;
}

export interface ModelsListCommand {
  command: 'models-list';
  modelDirs: string[];
  json: boolean;
}

export interface HelpCommand {
  command: 'help';
  topic?: 'separate' | 'models';
}

export interface UsageError {
  command: 'usage-error';
  message: string;
}

export type CliCommand = SeparateCommand | ModelsListCommand | HelpCommand | UsageError;

const EPS: readonly EpChoice[] = EP_CHOICES;
/** The per-stem formats, and the two stem-file ones (all stems in one .stem.mp4, for DJ software). */
const FORMATS = [...OUTPUT_FORMATS, 'stem', 'stem-alac'] as const;
type CliFormat = (typeof FORMATS)[number];

export const HELP = `xumx-studio — split songs into stems (vocals, drums, bass, other) with X-UMX, offline.

Usage:
  xumx-studio separate <files or folders...> --out DIR [options]
  xumx-studio models list [--json]
  xumx-studio models install xumx-official | models import <x-umx.h5>
  xumx-studio --help

separate options:
  --out DIR                 where the stems go: DIR/<song>/<source>.<ext> (required); <song> is the file name
                            without its extension, "<song> (2)" for another file of the same name
  --model ID                which installed model to use (default: the first one listed)
  --ep auto|cpu|cuda|dml|coreml|webgpu
                            execution provider (default auto: the platform's GPU if it works, else cpu)
  --format wav|flac|mp3|stem|stem-alac
                            stem file format (default wav); stem writes one Native Instruments stem file per
                            song, DIR/<song>.stem.mp4 (mix + drums, bass, other, vocals; AAC 256 kbit/s),
                            for DJ software; stem-alac the same in lossless ALAC
  --bit-depth 16|24|32f     sample format for wav/flac/stem-alac (default 16; flac and stem-alac store 32f as
                            24-bit)
  --wiener-iterations N     Wiener post-filter EM iterations, 0-10 (default: the model's recommendation, else
                            1, as in the X-UMX paper)
  --residual                write what the sources leave over as residual.<ext> (default: it goes to "other")
  --strength SRC=X,...      separation strength per source, 0.25-4 (default: the model's, else 1): above 1 a
                            stricter, cleaner stem, below 1 a fuller one that takes more of itself out of the others
  --bleed SRC=T,...         bleed reduction per source, 0-0.9 (default: the model's, else 0): drops what the
                            source holds less than T of from its stem
  --preset ID               start from a preset's controls: karaoke, a-cappella, drumless, bassless,
                            practice-vocals, practice-drums, practice-bass, practice-other (what it leaves out
                            stays at the model's recommendation)
  --neutral                 start from neutral controls (strength 1, bleed 0, 1 Wiener iteration) instead of the
                            controls the model recommends (models list shows them)
  --mix                     with --preset, also write the mix the preset is made for (its muted stems left out,
                            the others at its gains) next to the stems, in the same format:
                            DIR/<song>/<song>.<preset>.mix.<ext>
  --tempo X                 write the stems (and --mix) at X times the song's tempo, ${TEMPO_RANGE.min}-${TEMPO_RANGE.max}, pitch unchanged
                            (0.8 = 80 %); the files are the song's length divided by X
  --semitones N             move the key by N semitones, ${SEMITONE_RANGE.min} to ${SEMITONE_RANGE.max}, tempo unchanged
  --cache-dir DIR           keep the network's estimates in DIR; running again with other controls skips the network
  --models-dir DIR          also look for models in DIR (may be repeated)
  --json                    print one JSON document with every file's result instead of text

Folders are searched (not recursively) for ${AUDIO_EXTENSIONS.join(' ')} files.
Exit codes: 0 every file separated, 1 some file failed, 2 usage error.
`;

/** `--semitones -2`: a negative number after a numeric option is its value, not an option of its own. */
function joinNegativeValues(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] === '--semitones' || argv[i] === '--tempo') && /^-(?:\.?\d|infinity$)/i.test(argv[i + 1] ?? ''))
      out.push(`${argv[i]}=${argv[++i]}`);
    else out.push(argv[i]);
  }
  return out;
}

/** --tempo and --semitones, checked by the engine's own rule; null when neither is given. */
function timePitchFromFlags(
  tempoText: string | undefined,
  semitonesText: string | undefined,
): { ok: true; value: TimePitch | null } | { ok: false; message: string } {
  if (tempoText === undefined && semitonesText === undefined) return { ok: true, value: null };
  const tp = { tempo: 1, semitones: 0 };
  for (const [flag, t] of [
    ['tempo', tempoText],
    ['semitones', semitonesText],
  ] as const) {
    if (t === undefined) continue;
    const n = readNumber(t);
    if (!n.ok && n.problem === 'not finite')
      return { ok: false, message: `--${flag} must be a finite number, not "${t}"` };
    // Not a number: the engine's rule below names the range.
    tp[flag] = n.ok ? n.value : NaN;
  }
  const problem = timePitchProblem(tp);
  if (!problem) return { ok: true, value: tp };
  const text = problem.startsWith('tempo') ? tempoText : semitonesText;
  return { ok: false, message: `--${problem}, not "${text}"` };
}

export function parseCli(argv: string[]): CliCommand {
  const usage = (message: string): UsageError => ({ command: 'usage-error', message });
  let parsed;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(argv),
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        model: { type: 'string', short: 'm' },
        ep: { type: 'string' },
        format: { type: 'string', short: 'f' },
        'bit-depth': { type: 'string' },
        'wiener-iterations': { type: 'string' },
        residual: { type: 'boolean' },
        neutral: { type: 'boolean' },
        strength: { type: 'string', multiple: true },
        bleed: { type: 'string', multiple: true },
        preset: { type: 'string' },
        mix: { type: 'boolean' },
        'cache-dir': { type: 'string' },
        tempo: { type: 'string' },
        semitones: { type: 'string' },
        'models-dir': { type: 'string', multiple: true },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return usage((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
  const { values: v, positionals } = parsed;
  const [cmd, ...rest] = positionals;

  if (v.help || cmd === 'help' || cmd === undefined) {
    if (cmd === undefined && !v.help) return usage('no command given');
    const topic = cmd === 'separate' || cmd === 'models' ? cmd : undefined;
    return { command: 'help', ...(topic ? { topic } : {}) };
  }
  const modelDirs = v['models-dir'] ?? [];

  if (cmd === 'models') {
    if (rest[0] !== 'list' || rest.length > 1)
      return usage(
        `unknown models command "${rest.join(' ')}" (use: models list, models install xumx-official or models import <x-umx.h5>)`,
      );
    const stray = [
      'out',
      'model',
      'ep',
      'format',
      'bit-depth',
      'wiener-iterations',
      'residual',
      'neutral',
      'strength',
      'bleed',
      'preset',
      'mix',
      'cache-dir',
      'tempo',
      'semitones',
    ].find((k) => k in v);
    if (stray) return usage(`--${stray} does not apply to "models list"`);
    return { command: 'models-list', modelDirs, json: v.json ?? false };
  }
  if (cmd !== 'separate') return usage(`unknown command "${cmd}" (use separate, models list or --help)`);

  if (rest.length === 0) return usage('separate needs at least one file or folder');
  if (!v.out) return usage('separate needs --out DIR (where the stems go)');
  const ep = (v.ep ?? 'auto') as EpChoice;
  if (!EPS.includes(ep)) return usage(`--ep must be one of ${EPS.join(', ')}, not "${v.ep}"`);
  const cliFormat = (v.format ?? 'wav') as CliFormat;
  if (!FORMATS.includes(cliFormat)) return usage(`--format must be one of ${FORMATS.join(', ')}, not "${v.format}"`);
  const depthText = v['bit-depth'] ?? '16';
  const bitDepth: BitDepth | null = BIT_DEPTHS.find((d) => String(d) === depthText) ?? null;
  if (bitDepth === null) return usage(`--bit-depth must be 16, 24 or 32f, not "${depthText}"`);
  if (cliFormat === 'mp3' && v['bit-depth'] !== undefined)
    return usage('--bit-depth does not apply to mp3 (always 320 kbps)');
  if (cliFormat === 'stem' && v['bit-depth'] !== undefined)
    return usage('--bit-depth does not apply to stem (AAC 256 kbps); use --format stem-alac for lossless');
  if ((cliFormat === 'stem' || cliFormat === 'stem-alac') && v.mix)
    return usage('--mix does not apply to stem files (the mix is their first track)');
  const stemFile =
    cliFormat === 'stem' || cliFormat === 'stem-alac'
      ? stemFileCodec(cliFormat === 'stem' ? 'aac' : 'alac', bitDepth)
      : undefined;
  // A stem file is made from float WAV stems the engine writes to a temporary folder.
  const format: OutputFormat = stemFile ? 'wav' : (cliFormat as OutputFormat);
  let wienerIterations: number | undefined;
  if (v['wiener-iterations'] !== undefined) {
    const text = v['wiener-iterations'];
    wienerIterations = /^\d+$/.test(text) ? Number(text) : NaN;
    if (!(wienerIterations >= 0 && wienerIterations <= 10))
      return usage(`--wiener-iterations must be a whole number from 0 to 10, not "${text}"`);
  }
  const controls = controlsFromFlags({ strength: v.strength, bleed: v.bleed, preset: v.preset });
  if (!controls.ok) return usage(controls.message);
  if (v.mix && v.preset === undefined)
    return usage('--mix needs --preset (the preset says which stems the mix keeps and at what gain)');
  const timePitch = timePitchFromFlags(v.tempo, v.semitones);
  if (!timePitch.ok) return usage(timePitch.message);
  return {
    command: 'separate',
    inputs: rest,
    out: v.out,
    ...(v.model !== undefined ? { model: v.model } : {}),
    ep,
    format,
    bitDepth: stemFile ? '32f' : bitDepth,
    ...(stemFile ? { stemFile } : {}),
    ...(wienerIterations !== undefined ? { wienerIterations } : {}),
    residual: v.residual ?? false,
    ...(v.neutral ? { neutral: true } : {}),
    ...controls.value,
    ...(v.mix ? { mix: true } : {}),
    ...(v['cache-dir'] !== undefined ? { cacheDir: v['cache-dir'] } : {}),
    ...(timePitch.value ? { timePitch: timePitch.value } : {}),
    modelDirs,
    json: v.json ?? false,
  };
}
