// What a drop holds. Electron turns each dropped File (folders too) into a path and the service searches folders;
// a browser can only upload files, so dropped folders are walked here through the File System entries API.
import { AUDIO_EXTENSIONS } from '../../src-main/api/contract.ts';

export interface Dropped {
  /** Top-level items as File objects (Electron maps these to paths, folders included). */
  files: File[];
  /** The same items as entries, for walking folders in the browser; empty where unsupported. */
  entries: FileSystemEntry[];
}

/** Must run inside the drop handler: the DataTransfer is emptied once it returns. */
export function readDrop(dt: DataTransfer | null): Dropped {
  if (!dt) return { files: [], entries: [] };
  const entries = [...dt.items]
    .map((i) => i.webkitGetAsEntry?.() ?? null)
    .filter((e): e is FileSystemEntry => e !== null);
  return { files: [...dt.files], entries };
}

const isAudio = (name: string) => (AUDIO_EXTENSIONS as readonly string[]).some((x) => name.toLowerCase().endsWith(x));

/** Every file under the dropped entries: files as dropped, folders searched for songs, sorted by path. */
export async function filesForUpload(d: Dropped): Promise<File[]> {
  if (d.entries.length === 0) return d.files;
  const out: { path: string; file: File }[] = [];
  const walk = async (entry: FileSystemEntry, depth: number): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
      // A file dropped on its own is taken as is (the service names what is wrong with it); inside folders only songs.
      if (depth === 0 || isAudio(file.name)) out.push({ path: entry.fullPath, file });
    } else if (entry.isDirectory && depth < 4) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      // readEntries returns the folder in batches until it answers an empty list.
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        for (const child of batch) if (!child.name.startsWith('.')) await walk(child, depth + 1);
      }
    }
  };
  for (const e of d.entries) await walk(e, 0);
  return out.sort((a, b) => a.path.localeCompare(b.path)).map((x) => x.file);
}
