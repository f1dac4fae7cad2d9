// The model contract's manifest.json: parsed and validated into a typed ModelManifest.
// Pure: takes the parsed JSON and the path it came from (for messages), returns a value or throws XumxError.
import { checkPartialControls, MANIFEST_DEFAULT_FIELDS } from '../dsp/controls.ts';
import { XumxError } from '../errors.ts';
import { SOURCE_NAME_PATTERN, type SeparationControls } from '../types.ts';

/** Fixed by the engine's contract (models/README.md): every model sees the same STFT of 44.1 kHz stereo. */
export const CONTRACT = { sampleRate: 44100, nFft: 4096, hop: 1024, bins: 2049, channels: 2 } as const;

export interface ModelManifest {
  id: string;
  name: string;
  architecture: string;
  /** Order of the first axis of `est_mag`. */
  sources: string[];
  sampleRate: number;
  nFft: number;
  hop: number;
  /** ONNX file, relative to the model's folder. */
  file: string;
  sha256: string;
  /** Bytes. */
  size: number;
  license: string;
  /** Where the weights come from (training data). */
  provenance: string;
  metrics: Record<string, unknown>;
  /** Random or otherwise non-separating networks built for tests: never offered to users. */
  testOnly: boolean;
  /** `default_controls`: the controls the model recommends (modelDefaultControls); absent: neutral ones. */
  defaultControls?: Partial<SeparationControls>;
}

/** A model's id (its folder's name too): the one rule the manifest and the doors check. */
export const MODEL_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** parseManifest of a manifest.json's text; text that is not JSON is MODEL_BAD_MANIFEST too. */
export function parseManifestText(text: string, manifestPath: string): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new XumxError(
      'MODEL_BAD_MANIFEST',
      `${manifestPath}: not valid JSON (${(err as Error).message})`,
      manifestPath,
    );
  }
  return parseManifest(json, manifestPath);
}

export function parseManifest(json: unknown, manifestPath: string): ModelManifest {
  const bad = (reason: string) => new XumxError('MODEL_BAD_MANIFEST', `${manifestPath}: ${reason}`, manifestPath);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('is not a JSON object');
  const m = json as Record<string, unknown>;

  const str = (key: string): string => {
    const v = m[key];
    if (typeof v !== 'string' || v.trim() === '') throw bad(`field "${key}" must be a non-empty string`);
    return v;
  };
  const int = (key: string): number => {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) throw bad(`field "${key}" must be a positive integer`);
    return v;
  };

  const id = str('id');
  if (!MODEL_ID_PATTERN.test(id))
    throw bad(`id "${id}" must be lower-case letters, digits, ".", "_" or "-" (at most 64)`);

  const sources = m.sources;
  if (
    !Array.isArray(sources) ||
    sources.length === 0 ||
    !sources.every((s) => typeof s === 'string' && SOURCE_NAME_PATTERN.test(s))
  ) {
    throw bad(
      'field "sources" must be a non-empty list of lower-case source names (a letter first, at most 32 characters)',
    );
  }
  if (new Set(sources).size !== sources.length) throw bad('field "sources" lists a source twice');
  if (sources.includes('residual')) throw bad('"residual" is reserved for what the sources leave over');

  const sampleRate = int('sample_rate');
  const nFft = int('n_fft');
  const hop = int('hop');
  if (sampleRate !== CONTRACT.sampleRate || nFft !== CONTRACT.nFft || hop !== CONTRACT.hop) {
    throw bad(
      `the engine runs models at ${CONTRACT.sampleRate} Hz with n_fft ${CONTRACT.nFft} and hop ${CONTRACT.hop}; ` +
        `this one declares ${sampleRate} Hz, n_fft ${nFft}, hop ${hop}`,
    );
  }

  const file = str('file');
  if (file.includes('..') || file.startsWith('/') || file.includes('\\') || /^[a-zA-Z]:/.test(file)) {
    throw bad(`field "file" must name a file inside the model's folder, not "${file}"`);
  }
  const sha256 = str('sha256').toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw bad('field "sha256" must be 64 hexadecimal digits');

  const metrics = m.metrics ?? {};
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics))
    throw bad('field "metrics" must be an object');
  const testOnly = m.test_only ?? false;
  if (typeof testOnly !== 'boolean') throw bad('field "test_only" must be true or false');

  const defaultControls = m.default_controls === undefined ? undefined : recommended(m.default_controls, sources, bad);

  return {
    id,
    name: str('name'),
    architecture: str('architecture'),
    sources: sources as string[],
    sampleRate,
    nFft,
    hop,
    file,
    sha256,
    size: int('size'),
    license: str('license'),
    provenance: str('provenance'),
    metrics: metrics as Record<string, unknown>,
    testOnly,
    ...(defaultControls ? { defaultControls } : {}),
  };
}

/** `default_controls`, its snake_case fields read into controls and checked by the engine's one controls check. */
function recommended(v: unknown, sources: string[], bad: (reason: string) => XumxError): Partial<SeparationControls> {
  const field = 'field "default_controls"';
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(`${field} must be an object`);
  const controls: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(v)) {
    if (!Object.hasOwn(MANIFEST_DEFAULT_FIELDS, key))
      throw bad(
        `${field} has an unknown field "${key.slice(0, 40)}" (it takes ${Object.keys(MANIFEST_DEFAULT_FIELDS).join(', ')})`,
      );
    controls[MANIFEST_DEFAULT_FIELDS[key as keyof typeof MANIFEST_DEFAULT_FIELDS]] = value;
  }
  try {
    return checkPartialControls(controls, sources);
  } catch (err) {
    throw bad(`${field}: ${(err as Error).message}`);
  }
}
