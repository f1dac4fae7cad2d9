// For tests of what ended processes leave behind: the id of a process that has already exited.
import { spawnSync } from 'node:child_process';

export function endedPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString());
}
