// Argument checks for the separation-controls calls (getSongControls, rerender, previewRegion, setSongTimePitch,
// setSongRegions, setSongLoop, listPresets, savePreset, deletePreset): the same rule as validate.ts — nothing unchecked reaches
// the service.
import { checkControls, parsePreset, timePitchProblem, XumxError } from '../engine/index.ts';
import type { SeparationControls } from '../engine/types.ts';
import type { ExportRegion, SongControls, SongLoop, SongRegion, TimePitch } from './contract.ts';

/** Ids the service hands out (jobs, previews, presets). */
export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function bad(message: string): never {
  throw new XumxError('BAD_ARGUMENT', message);
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The engine's own check (checkControls), before the model is known: source names need only be well formed. */
export function separationControls(v: unknown): SeparationControls {
  return checkControls(v);
}

export function timePitch(v: unknown): TimePitch {
  if (!isRecord(v)) bad('timePitch must be an object with tempo and semitones');
  for (const k of Object.keys(v)) if (!['tempo', 'semitones'].includes(k)) bad(`timePitch has an unknown field "${k}"`);
  const problem = timePitchProblem({ tempo: v.tempo, semitones: v.semitones });
  if (problem) bad(problem);
  return { tempo: v.tempo as number, semitones: v.semitones as number };
}

export const MAX_REGIONS = 50;
const REGION_NAME_RE = /^[^\p{C}]{1,60}$/u;

/**
 * A song's named regions; with the song, each must also end by the song's end, and a refusal names the song.
 * Names are 1 to 60 printable characters (not only spaces).
 */
export function songRegions(v: unknown, song?: { name: string; duration: number }): SongRegion[] {
  const refuse = (message: string): never => bad(song ? `${song.name}: ${message}` : message);
  if (!Array.isArray(v)) refuse('regions must be a list');
  const list = v as unknown[];
  if (list.length > MAX_REGIONS) refuse(`a song has at most ${MAX_REGIONS} regions`);
  return list.map((r) => {
    if (!isRecord(r)) return refuse('a region must be an object with name, start and end');
    for (const k of Object.keys(r))
      if (!['name', 'start', 'end'].includes(k)) refuse(`region has an unknown field "${k.slice(0, 40)}"`);
    const { name, start, end } = r;
    if (typeof name !== 'string' || !REGION_NAME_RE.test(name) || [...name].length > 60 || !name.trim())
      refuse('region names must be 1 to 60 printable characters');
    const problem = spanProblem(`region "${name as string}"`, start, end, song?.duration);
    if (problem) refuse(problem);
    return { name: name as string, start: start as number, end: end as number };
  });
}

/** Why `start`–`end` is not a part of a song lasting `duration` seconds (any length when not given), or null. */
function spanProblem(label: string, start: unknown, end: unknown, duration?: number): string | null {
  if (typeof start !== 'number' || typeof end !== 'number' || !Number.isFinite(start) || !Number.isFinite(end))
    return `${label} must start and end at numbers of seconds`;
  if (start < 0) return `${label} must start at 0 s or later`;
  if (start >= end) return `${label} must start before it ends`;
  if (duration !== undefined && end > duration)
    return `${label} ends after the song (at ${end} s, the song lasts ${+duration.toFixed(2)} s)`;
  return null;
}

/** The part of a song an export is limited to; a refusal names the song. */
export function exportRegion(v: unknown, song: { name: string; duration: number }): ExportRegion {
  const refuse = (message: string): never => bad(`${song.name}: ${message}`);
  if (!isRecord(v)) refuse('the export region must be an object with start and end');
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!['start', 'end'].includes(k)) refuse(`the export region has an unknown field "${k.slice(0, 40)}"`);
  const problem = spanProblem('the export region', r.start, r.end, song.duration);
  if (problem) refuse(problem);
  return { start: r.start as number, end: r.end as number };
}

export function songControls(v: unknown): SongControls {
  if (!isRecord(v)) bad('song controls must be an object');
  for (const k of Object.keys(v))
    if (!['controls', 'presetId', 'timePitch', 'regions', 'loop', 'countIn'].includes(k))
      bad(`song controls has an unknown field "${k}"`);
  const presetId = v.presetId ?? null;
  if (presetId !== null && (typeof presetId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,47}$/.test(presetId)))
    bad('presetId must be a preset id or null');
  return {
    controls: separationControls(v.controls ?? {}),
    presetId,
    ...(v.timePitch !== undefined ? { timePitch: timePitch(v.timePitch) } : {}),
    ...(v.regions !== undefined ? { regions: songRegions(v.regions) } : {}),
    ...(v.loop !== undefined ? { loop: songLoop(v.loop) } : {}),
    ...(v.countIn !== undefined ? { countIn: countIn(v.countIn) } : {}),
  };
}

/** A song's loop selection (null: none); with the song, it must also end by the song's end, and a refusal names it. */
export function songLoop(v: unknown, song?: { name: string; duration: number }): SongLoop | null {
  const refuse = (message: string): never => bad(song ? `${song.name}: ${message}` : message);
  if (v === null) return null;
  if (!isRecord(v)) return refuse('a loop must be null or an object with start, end and active');
  for (const k of Object.keys(v))
    if (!['start', 'end', 'active'].includes(k)) refuse(`the loop has an unknown field "${k.slice(0, 40)}"`);
  if (typeof v.active !== 'boolean') refuse("the loop's active must be true or false");
  const problem = spanProblem('the loop', v.start, v.end, song?.duration);
  if (problem) refuse(problem);
  return { start: v.start as number, end: v.end as number, active: v.active as boolean };
}

export function countIn(v: unknown, song?: { name: string }): boolean {
  if (typeof v !== 'boolean') bad(`${song ? `${song.name}: ` : ''}count-in must be true or false`);
  return v as boolean;
}

/** Cleans the arguments of one controls call, or returns null when `method` is not one of them. */
export function validateControlsCall(method: string, args: unknown[]): unknown[] | null {
  const arity = (n: number) => {
    if (args.length !== n) bad(`${method} takes ${n} argument${n === 1 ? '' : 's'}`);
  };
  const jobId = (x: unknown) => (typeof x === 'string' && ID_RE.test(x) ? x : bad('jobId must be an id'));
  switch (method) {
    case 'listPresets':
      arity(0);
      return [];
    case 'getSongControls':
      arity(1);
      return [jobId(args[0])];
    case 'rerender':
      arity(2);
      return [jobId(args[0]), songControls(args[1])];
    case 'previewRegion': {
      arity(4);
      const seconds = (x: unknown, what: string) =>
        typeof x === 'number' ? x : bad(`${what} must be a number of seconds`);
      // The ranges depend on the song (its length), so the service checks them and names the song.
      return [jobId(args[0]), songControls(args[1]), seconds(args[2], 'start'), seconds(args[3], 'seconds')];
    }
    case 'setSongTimePitch':
      arity(2);
      return [jobId(args[0]), timePitch(args[1])];
    case 'setSongLoop':
      arity(3);
      // Checked by the service against the song, so that a refusal names it (songLoop).
      return [jobId(args[0]), args[1], args[2]];
    case 'setSongRegions':
      arity(2);
      // The list is checked by the service against the song, so that every refusal names it (songRegions).
      return [jobId(args[0]), args[1]];
    case 'savePreset':
      arity(1);
      return [parsePreset(args[0], 'preset')];
    case 'deletePreset':
      arity(1);
      if (typeof args[0] !== 'string' || !/^[a-z0-9][a-z0-9-]{0,47}$/.test(args[0]))
        bad('preset id must be lower-case letters, digits and "-"');
      return [args[0]];
    default:
      return null;
  }
}
