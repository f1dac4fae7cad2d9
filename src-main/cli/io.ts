// What a CLI command needs of the process it runs in, passed in so tests can run commands in memory.

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (progress bar) and how wide it is. */
  tty: boolean;
  columns: number;
  env: NodeJS.ProcessEnv;
  /** Called with a cancel function while a job runs, so Ctrl-C can stop it cleanly. */
  onInterrupt(cancel: (() => void) | null): void;
}
