// Which files the UI may read back. The renderer never names a path to read: it names a job and a stem, and the
// service serves only files the user chose (dialog, drop, command line, upload) or stems the app itself wrote.
import { resolve } from 'node:path';

export class FileAccessPolicy {
  private readonly chosen = new Set<string>();
  private readonly written = new Set<string>();

  allowChosen(path: string): void {
    this.chosen.add(resolve(path));
  }

  allowWritten(path: string): void {
    this.written.add(resolve(path));
  }

  forget(path: string): void {
    this.chosen.delete(resolve(path));
    this.written.delete(resolve(path));
  }

  canRead(path: string): boolean {
    const p = resolve(path);
    return this.chosen.has(p) || this.written.has(p);
  }

  /** Reveal-in-folder and similar actions are for files the app wrote. */
  wasWritten(path: string): boolean {
    return this.written.has(resolve(path));
  }
}
