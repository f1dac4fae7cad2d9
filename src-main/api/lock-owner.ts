// Who holds the data folder's lock, and whether that owner has ended. A pid alone says little: after a reboot, or
// once pids wrap around, it may belong to any program, and a lock naming it would keep the folder locked forever. So
// the lock also records when and where its owner runs, and an owner is judged gone when
//   - the lock was written before this machine last started (Linux: the kernel's boot id differs; elsewhere, and in
//     locks without a boot id, the time it was written is before the boot time), or
//   - the process with its pid started after the lock was written (Linux: its start in clock ticks since boot differs
//     from the one recorded; in locks without one, its start is later than the time written), or
//   - no process has its pid (temp-files.ts ownerIsGone).
// The pid means something here only for a lock of this machine: the same host name, or (Linux) the same boot and the
// same pid namespace, which also covers a host renamed while the app ran; never a lock of another machine id (two
// computers with one default host name sharing a network drive: the other's boot always differs from ours). A lock
// of this boot in another pid namespace is another container's even under this host name (docker --network host, a
// fixed --hostname). A lock of another computer or container (a network share, a volume two containers mount) is
// never judged gone: its pid says nothing here, and a folder on a local file system may still be shared with a
// running container that this one cannot see.
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { hostname, uptime } from 'node:os';
import { ownerIsGone, thisProcess } from '../engine/index.ts';

export interface LockOwner {
  /** A hash of the host name (temp-files.ts THIS_HOST), the pid and a tag of this start of the process. */
  host: string;
  pid: number;
  run: string;
  /** When the lock was written, ISO 8601. */
  started?: string;
  /** The host name itself, for a refusal to name. */
  hostName?: string;
  /** A hash of the installation's machine id (Linux /etc/machine-id), which a host name does not tell apart. */
  machine?: string;
  /** Linux: the kernel's boot id, the pid namespace, and the owner's start in clock ticks since boot. */
  boot?: string;
  pidns?: string;
  since?: number;
}

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on every architecture Node runs on). */
const TICKS_PER_S = 100;
/** Leeway for comparing times read off the wall clock (boot time is known to a second, clocks are adjusted). */
const CLOCK_SLACK_MS = 10_000;

function readOrNull<T>(read: () => T): T | null {
  try {
    return read();
  } catch {
    return null;
  }
}

const THIS_BOOT = readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()) || null;
const THIS_PIDNS = readOrNull(() => readlinkSync('/proc/self/ns/pid'));
/** Hashed: systemd asks programs not to expose the machine id itself, and the lock may sit on a shared drive. */
const THIS_MACHINE = ((): string | null => {
  for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    const id = readOrNull(() => readFileSync(file, 'utf8').trim());
    if (id) return createHash('sha256').update(`xumx-studio lock ${id}`).digest('hex').slice(0, 16);
  }
  return null;
})();

/** A process's start in clock ticks since boot (field 22 of /proc/<pid>/stat); null where it cannot be read. */
export function processStartTicks(pid: number): number | null {
  const stat = readOrNull(() => readFileSync(`/proc/${pid}/stat`, 'utf8'));
  if (stat === null) return null;
  // The program's name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  return Number.isSafeInteger(ticks) ? ticks : null;
}

/** This app as its lock names it, at the time of the call. */
export function thisLockOwner(): LockOwner {
  const since = THIS_BOOT === null ? null : processStartTicks(process.pid);
  return {
    ...thisProcess(),
    started: new Date().toISOString(),
    hostName: hostname(),
    ...(THIS_MACHINE !== null ? { machine: THIS_MACHINE } : {}),
    ...(THIS_BOOT !== null && THIS_PIDNS !== null && since !== null
      ? { boot: THIS_BOOT, pidns: THIS_PIDNS, since }
      : {}),
  };
}

const isPid = (pid: unknown): pid is number =>
  Number.isInteger(pid) && (pid as number) > 0 && (pid as number) < 2 ** 31;

/** Null for a lock that does not name an owner (empty, damaged, written by hand): it holds nothing. */
export function parseLockOwner(text: string): LockOwner | null {
  let o: Record<string, unknown> | null;
  try {
    o = JSON.parse(text) as Record<string, unknown> | null;
  } catch {
    return null;
  }
  // A pid no process can have (0 would mean our own process group to kill(), a negative one a group, one past 2^31
  // is refused by kill()) names no owner.
  if (!o || typeof o.host !== 'string' || !isPid(o.pid) || typeof o.run !== 'string') return null;
  return {
    host: o.host,
    pid: o.pid,
    run: o.run,
    started: stringOr(o.started),
    hostName: stringOr(o.hostName),
    machine: stringOr(o.machine),
    boot: stringOr(o.boot),
    pidns: stringOr(o.pidns),
    since: Number.isSafeInteger(o.since) ? (o.since as number) : undefined,
  };
}

const stringOr = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Whether the pid of the lock names a process of this machine (see the top of the file). */
export function pidMeansHere(o: LockOwner): boolean {
  const me = thisProcess();
  if (THIS_MACHINE !== null && o.machine !== undefined && o.machine !== THIS_MACHINE) return false;
  // Another pid namespace on this same kernel (a container, also one sharing this host name): its pids are not ours.
  if (THIS_BOOT !== null && o.boot === THIS_BOOT && o.pidns !== undefined && o.pidns !== THIS_PIDNS) return false;
  return o.host === me.host || (THIS_BOOT !== null && o.boot === THIS_BOOT && o.pidns === THIS_PIDNS);
}

export function lockOwnerIsGone(o: LockOwner): boolean {
  if (!pidMeansHere(o)) return false;
  if (THIS_BOOT !== null && o.boot !== undefined) {
    if (o.boot !== THIS_BOOT) return true;
  } else if (writtenMs(o) < Date.now() - uptime() * 1000 - CLOCK_SLACK_MS) return true;
  if (ownerIsGone({ ...o, host: thisProcess().host })) return true;
  // The pid runs: the owner's only if that process started before the lock was written. For a lock of another pid
  // namespace (a container restarted under the same host name) a start read here says nothing of the owner: the pid
  // alone decides.
  if (o.pid === process.pid || (o.pidns !== undefined && o.pidns !== THIS_PIDNS)) return false;
  const ticks = processStartTicks(o.pid);
  if (ticks === null) return false;
  if (o.since !== undefined && o.boot === THIS_BOOT) return ticks !== o.since;
  const startedMs = Date.now() - uptime() * 1000 + (ticks / TICKS_PER_S) * 1000;
  return startedMs > writtenMs(o) + CLOCK_SLACK_MS;
}

/** When the lock was written; NaN (never before or after anything) when it does not say. */
function writtenMs(o: LockOwner): number {
  return o.started === undefined ? NaN : Date.parse(o.started);
}

/** Where the owner runs, for a refusal: `process 12`, or `process 12 on another computer or container: host …`. */
export function describeOwner(o: LockOwner): string {
  if (pidMeansHere(o)) return `process ${o.pid}`;
  const known = [o.hostName && `host ${o.hostName}`, o.started && `locked at ${o.started}`].filter(Boolean);
  return `process ${o.pid} on another computer or container${known.length ? `: ${known.join(', ')}` : ''}`;
}
