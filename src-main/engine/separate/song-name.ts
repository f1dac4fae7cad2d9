// What a song's outputs are called: its stem folder, exported stems, mix and stem file all start with this name.
// Pure and free of Node, so the renderer shows the same names the app writes.

/** Windows refuses these as file names, with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * Drops what would hide a name or make it point elsewhere ("." and ".."), and what Windows drops silently:
 * leading dots and spaces, trailing dots and spaces.
 */
export function visibleName(name: string): string {
  return name.replace(/^[\s.]+|[\s.]+$/g, '');
}

/** A song's name from its path: the file name without its extension, made visible ("...wav" → "wav"). */
export function songName(path: string): string {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  return visibleName(dot > 0 ? name.slice(0, dot) : name) || visibleName(name) || 'song';
}

/**
 * A name typed for an exported file, made visible, or null when nothing legal is left: a folder separator, a
 * character Windows forbids, a control character or a reserved device name is refused rather than altered.
 */
export function exportFileName(name: string): string | null {
  const v = visibleName(name);
  if (v.length === 0 || v.length > 200 || /[\\/:*?"<>|\x00-\x1f\x7f]/.test(v) || RESERVED.test(v)) return null;
  return v;
}

/**
 * The name of a song's stem file (one `.stem.mp4` holding all its stems): `<song>.stem.mp4`, or numbered like stem
 * folders, `<song> (2).stem.mp4`, when that name is taken by another song's.
 */
export function stemFileName(path: string, n = 1, region?: { start: number; end: number }): string {
  return `${partName(`${songName(path)}${n === 1 ? '' : ` (${n})`}`, region)}.stem.mp4`;
}

/** 62.46 → "1m02.5s": to the tenth, with ":" avoided since Windows forbids it in file names. */
function fileTime(seconds: number): string {
  const tenths = Math.round(seconds * 10);
  const s = (tenths % 600) / 10;
  return `${Math.floor(tenths / 600)}m${s < 10 ? '0' : ''}${s.toFixed(1)}s`;
}

/**
 * The name (without extension) of an export limited to a part of the song: the whole export's name followed by the
 * part, "<name> [1m02.5s-1m10.0s]", so a part never takes the whole song's file. Without a part: the name as it is.
 */
export function partName(name: string, region?: { start: number; end: number }): string {
  return region ? `${name} [${fileTime(region.start)}-${fileTime(region.end)}]` : name;
}
