// What a song's outputs are called: its stem folder, exported stems, mix and stem file all start with this name.
// Pure and free of Node, so the renderer shows the same names the app writes.

/** The longest file name, in bytes, of the file systems songs are written to (ext4, APFS, and NTFS's 255 UTF-16 units). */
export const FILE_NAME_MAX_BYTES = 255;

/**
 * Bytes a song's name keeps in the names made from it: what any of them adds stays within 75 bytes (a stem file's
 * " (1000) [99m59.9s-100m00.0s].stem.mp4" with its mark's "." and ".xumx-song"; an exported stem's " - <source of up
 * to 32 letters> [part].flac"; the CLI's mix's ".<preset of up to 48>.mix.flac").
 */
const SONG_NAME_MAX_BYTES = FILE_NAME_MAX_BYTES - 75;

const utf8 = new TextEncoder();
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The longest start of `text` that takes at most `maxBytes` bytes of UTF-8, cut between characters as a reader sees
 * them: never inside one, nor between a letter and its accent or the parts of an emoji.
 */
export function fitUtf8(text: string, maxBytes: number): string {
  if (utf8.encode(text).length <= maxBytes) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    used += utf8.encode(segment).length;
    if (used > maxBytes) break;
    out += segment;
  }
  return out;
}

/** Windows refuses these as file names, with or without an extension. */
const RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$/i;

/**
 * Drops what would hide a name or make it point elsewhere ("." and ".."), and what Windows drops silently:
 * leading dots and spaces, trailing dots and spaces.
 */
export function visibleName(name: string): string {
  return name.replace(/^[\s.]+|[\s.]+$/g, '');
}

/**
 * A song's name from its path: the file name without its extension, made visible ("...wav" → "wav"), and cut short
 * (SONG_NAME_MAX_BYTES) so that every name made from it fits in a file name.
 */
export function songName(path: string): string {
  const name = path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
  const dot = name.lastIndexOf('.');
  const visible = visibleName(dot > 0 ? name.slice(0, dot) : name) || visibleName(name) || 'song';
  return visibleName(fitUtf8(visible, SONG_NAME_MAX_BYTES)) || 'song';
}

/** A typed export name beyond any file name: refused as a mistake rather than cut to its first 255 bytes. */
const EXPORT_NAME_MAX_CHARS = 1000;

/**
 * A name typed for an exported file, made visible, or null when nothing legal is left: a folder separator, a
 * character Windows forbids, a control character or a reserved device name is refused rather than altered. A long
 * one is cut short where the file is named (exportName).
 */
export function exportFileName(name: string): string | null {
  const v = visibleName(name);
  if (v.length === 0 || v.length > EXPORT_NAME_MAX_CHARS || /[\\/:*?"<>|\x00-\x1f\x7f]/.test(v) || RESERVED.test(v))
    return null;
  return v;
}

/**
 * The name of a song's stem file (one `.stem.mp4` holding all its stems): `<song>.stem.mp4`, or numbered like stem
 * folders, `<song> (2).stem.mp4`, when that name is taken by another song's.
 */
export function stemFileName(path: string, n = 1, region?: { start: number; end: number }): string {
  return `${partName(`${songName(path)}${n === 1 ? '' : ` (${n})`}`, region)}.stem.mp4`;
}

/**
 * The file name of an export named `name` (typed, or made from the song's name), limited to `region`, in format
 * `ext`: "<name> [part].<ext>", the name cut short where the whole would not fit in a file name.
 */
export function exportName(name: string, region: { start: number; end: number } | undefined, ext: string): string {
  const tail = `${partName('', region)}.${ext}`;
  return `${visibleName(fitUtf8(name, FILE_NAME_MAX_BYTES - utf8.encode(tail).length)) || 'export'}${tail}`;
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
