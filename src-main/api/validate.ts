// Every argument that crosses a door (IPC from the renderer, HTTP from the browser) is checked here before the
// service sees it. A bad argument is an error value with code BAD_ARGUMENT, never a thrown TypeError deep inside.
import { isAbsolute } from 'node:path';
import { exportFileName, MODEL_ID_PATTERN, XumxError } from '../engine/index.ts';
import { BIT_DEPTHS, EP_CHOICES as EPS, OUTPUT_FORMATS as FORMATS, SOURCE_NAME_PATTERN } from '../engine/types.ts';
import type {
  ApiMethod,
  ExportMixRequest,
  ExportRegion,
  ExportStemFileRequest,
  ExportStemsRequest,
  Settings,
} from './contract.ts';
import { ID_RE, timePitch, validateControlsCall } from './validate-controls.ts';

const MAX_PATH = 4096;

function bad(message: string): never {
  throw new XumxError('BAD_ARGUMENT', message);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function path(v: unknown, what: string): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_PATH || v.includes('\0'))
    bad(`${what} must be a file path`);
  return v;
}

function id(v: unknown, what: string): string {
  if (typeof v !== 'string' || !ID_RE.test(v)) bad(`${what} must be an id`);
  return v;
}

function modelId(v: unknown): string {
  if (typeof v !== 'string' || !MODEL_ID_PATTERN.test(v))
    bad('modelId must be a model id: lower-case letters, digits, ".", "_" or "-"');
  return v;
}

function source(v: unknown): string {
  if (typeof v !== 'string') bad('source must be a stem name such as "vocals"');
  if (!SOURCE_NAME_PATTERN.test(v))
    bad(`"${v.slice(0, 40)}" is not a stem name (lower case, a letter first, such as "vocals")`);
  return v;
}

function oneOf<T extends readonly unknown[]>(v: unknown, allowed: T, what: string): T[number] {
  if (!allowed.includes(v)) bad(`${what} must be one of ${allowed.join(', ')}`);
  return v as T[number];
}

function intIn(v: unknown, lo: number, hi: number, what: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi)
    bad(`${what} must be a whole number from ${lo} to ${hi}`);
  return v;
}

function fileName(v: unknown): string {
  const name = typeof v === 'string' ? exportFileName(v) : null;
  if (name === null) bad('name must be a plain, visible file name without folders or special characters');
  return name;
}

/** A folder to write into: absolute, since a relative one would depend on where the app happened to start. */
function folder(v: unknown, what: string): string {
  const p = path(v, what);
  if (!isAbsolute(p)) bad(`${what} "${p}" must be an absolute path`);
  return p;
}

function overwrite(v: Record<string, unknown>): { overwrite?: boolean } {
  if (!('overwrite' in v)) return {};
  if (typeof v.overwrite !== 'boolean') bad('overwrite must be true or false');
  return { overwrite: v.overwrite };
}

function exportTimePitch(v: Record<string, unknown>) {
  return v.timePitch === undefined ? {} : { timePitch: timePitch(v.timePitch) };
}

/** Passed on as given: whether it is a part of the song depends on the song, so the service checks it and names the song. */
function exportRegion(v: Record<string, unknown>): { region?: ExportRegion } {
  return v.region === undefined ? {} : { region: v.region as ExportRegion };
}

function exportId(v: Record<string, unknown>): { exportId?: string } {
  return v.exportId === undefined ? {} : { exportId: id(v.exportId, 'exportId') };
}

function noExtraKeys(obj: Record<string, unknown>, allowed: string[], what: string): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) bad(`${what} has an unknown field "${k}"`);
}

export function settingsPatch(v: unknown): Partial<Settings> {
  if (!isRecord(v)) bad('settings must be an object');
  noExtraKeys(
    v,
    ['modelId', 'ep', 'outputFolder', 'format', 'bitDepth', 'wienerIterations', 'modelOfferDismissed'],
    'settings',
  );
  const out: Partial<Settings> = {};
  if ('modelId' in v) out.modelId = v.modelId === null ? null : modelId(v.modelId);
  if ('ep' in v) out.ep = oneOf(v.ep, EPS, 'ep');
  if ('outputFolder' in v) out.outputFolder = folder(v.outputFolder, 'outputFolder');
  if ('format' in v) out.format = oneOf(v.format, FORMATS, 'format');
  if ('bitDepth' in v) out.bitDepth = oneOf(v.bitDepth, BIT_DEPTHS, 'bitDepth');
  if ('wienerIterations' in v)
    out.wienerIterations = v.wienerIterations === null ? null : intIn(v.wienerIterations, 0, 10, 'wienerIterations');
  if ('modelOfferDismissed' in v) {
    if (typeof v.modelOfferDismissed !== 'boolean') bad('modelOfferDismissed must be true or false');
    out.modelOfferDismissed = v.modelOfferDismissed;
  }
  return out;
}

function exportStems(v: unknown): ExportStemsRequest {
  if (!isRecord(v)) bad('export request must be an object');
  noExtraKeys(
    v,
    ['jobId', 'sources', 'folder', 'format', 'bitDepth', 'overwrite', 'timePitch', 'region', 'exportId'],
    'export request',
  );
  if (!Array.isArray(v.sources) || v.sources.length === 0 || v.sources.length > 16)
    bad('choose at least one stem to export');
  return {
    jobId: id(v.jobId, 'jobId'),
    sources: v.sources.map(source),
    folder: folder(v.folder, 'folder'),
    format: oneOf(v.format, FORMATS, 'format'),
    bitDepth: oneOf(v.bitDepth, BIT_DEPTHS, 'bitDepth'),
    ...overwrite(v),
    ...exportTimePitch(v),
    ...exportRegion(v),
    ...exportId(v),
  };
}

function exportMix(v: unknown): ExportMixRequest {
  if (!isRecord(v)) bad('export request must be an object');
  noExtraKeys(
    v,
    ['jobId', 'gains', 'folder', 'name', 'format', 'bitDepth', 'overwrite', 'timePitch', 'region', 'exportId'],
    'export request',
  );
  if (!isRecord(v.gains)) bad('gains must map stem names to numbers');
  const entries = Object.entries(v.gains);
  if (entries.length === 0 || entries.length > 16) bad('gains must name from 1 to 16 stems');
  for (const [k, g] of entries) {
    // +24 dB is far past any fader; the cap stops a bad caller from writing a file of pure clipping.
    if (typeof g !== 'number' || !Number.isFinite(g) || g < 0 || g > 16)
      bad(`gain of ${k} must be a number from 0 to 16`);
    source(k);
  }
  return {
    jobId: id(v.jobId, 'jobId'),
    // Built from entries so a stem named "__proto__" stays an own key instead of replacing the prototype.
    gains: Object.fromEntries(entries) as Record<string, number>,
    folder: folder(v.folder, 'folder'),
    name: fileName(v.name),
    format: oneOf(v.format, FORMATS, 'format'),
    bitDepth: oneOf(v.bitDepth, BIT_DEPTHS, 'bitDepth'),
    ...overwrite(v),
    ...exportTimePitch(v),
    ...exportRegion(v),
    ...exportId(v),
  };
}

function exportStemFile(v: unknown): ExportStemFileRequest {
  if (!isRecord(v)) bad('export request must be an object');
  noExtraKeys(v, ['jobId', 'folder', 'codec', 'bitDepth', 'overwrite', 'region', 'exportId'], 'export request');
  return {
    jobId: id(v.jobId, 'jobId'),
    folder: folder(v.folder, 'folder'),
    codec: oneOf(v.codec, ['aac', 'alac'] as const, 'codec'),
    bitDepth: oneOf(v.bitDepth, BIT_DEPTHS, 'bitDepth'),
    ...overwrite(v),
    ...exportRegion(v),
    ...exportId(v),
  };
}

/** Checks the argument list of one API call; returns the cleaned arguments or throws XumxError('BAD_ARGUMENT'). */
export function validateCall(method: string, args: unknown): { method: ApiMethod; args: unknown[] } {
  if (!Array.isArray(args)) bad('arguments must be a list');
  const arity = (n: number) => {
    if (args.length !== n) bad(`${method} takes ${n} argument${n === 1 ? '' : 's'}`);
  };
  switch (method) {
    case 'capabilities':
    case 'listModels':
    case 'getSettings':
    case 'listJobs':
    case 'recentFiles':
      arity(0);
      return { method, args: [] };
    case 'updateSettings':
      arity(1);
      return { method, args: [settingsPatch(args[0])] };
    case 'open': {
      arity(1);
      const paths = args[0];
      if (!Array.isArray(paths) || paths.length === 0 || paths.length > 1000)
        bad('open takes a list of 1 to 1000 paths');
      return { method, args: [paths.map((p, i) => path(p, `path ${i + 1}`))] };
    }
    case 'retry':
    case 'cancel':
    case 'remove':
      arity(1);
      return { method, args: [id(args[0], 'jobId')] };
    case 'peaks':
      arity(3);
      return { method, args: [id(args[0], 'jobId'), source(args[1]), intIn(args[2], 16, 100_000, 'buckets')] };
    case 'listenPeaks':
      arity(3);
      return {
        method,
        args: [
          id(args[0], 'jobId'),
          intIn(args[1], 0, Number.MAX_SAFE_INTEGER, 'revision'),
          intIn(args[2], 16, 100_000, 'buckets'),
        ],
      };
    case 'exportStems':
      arity(1);
      return { method, args: [exportStems(args[0])] };
    case 'exportMix':
      arity(1);
      return { method, args: [exportMix(args[0])] };
    case 'exportStemFile':
      arity(1);
      return { method, args: [exportStemFile(args[0])] };
    case 'cancelExport':
      arity(1);
      return { method, args: [id(args[0], 'exportId')] };
    case 'getModels':
      arity(0);
      return { method, args: [] };
    case 'setDefaultModel':
      arity(1);
      return { method, args: [args[0] === null ? null : modelId(args[0])] };
    case 'installModel':
    case 'pauseModelInstall':
    case 'cancelModelInstall':
    case 'removeModel':
      arity(1);
      return { method, args: [modelId(args[0])] };
    case 'importModel':
      if (args.length !== 1 && args.length !== 2) bad('importModel takes a path and optionally a model id');
      return {
        method,
        args:
          args.length === 2 && args[1] !== null ? [path(args[0], 'path'), modelId(args[1])] : [path(args[0], 'path')],
      };
    case 'getSongControls':
    case 'rerender':
    case 'previewRegion':
    case 'setSongTimePitch':
    case 'setSongRegions':
    case 'setSongLoop':
    case 'listPresets':
    case 'savePreset':
    case 'deletePreset':
      return { method, args: validateControlsCall(method, args)! };
    default:
      bad(`unknown call "${String(method).slice(0, 40)}"`);
  }
}

/** A %-encoded part of an address (path, cookie, call name), or BAD_ARGUMENT saying which part is malformed. */
export function decodePart(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new XumxError('BAD_ARGUMENT', `${what} is not valid percent-encoding`);
  }
}
