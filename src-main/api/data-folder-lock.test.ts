import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readlinkSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA_FOLDER_LOCK, lockDataFolder, takeOverAbandoned } from './data-folder-lock.ts';
import { thisLockOwner } from './lock-owner.ts';
import { THIS_HOST } from '../engine/temp-files.ts';
import { endedPid } from '../engine/testing/ended-process.ts';
import { onReadOnlyDisk } from '../../test/fixtures/read-only-disk.ts';

async function folder(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'xumx-data-lock-'));
}

const lockOf = (pid: number, host = THIS_HOST) => JSON.stringify({ host, pid, run: '0123abcd' });

// What Linux says of this boot and of a process, read here without the code under test: the kernel's boot id, this
// process's pid namespace and a process's start in clock ticks since boot (field 22 of /proc/<pid>/stat).
const linux = platform() === 'linux';
const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const pidNamespace = () => readlinkSync('/proc/self/ns/pid');
const machineId = () => {
  for (const f of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
    try {
      const id = readFileSync(f, 'utf8').trim();
      if (id) return id;
    } catch {
      // not there: try the next
    }
  }
  return null;
};
const startTicks = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
};

/** Runs `body` with a process that is running (not this one) and ends it afterwards. */
async function withRunningProcess(body: (pid: number) => Promise<void>): Promise<void> {
  const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  try {
    await once(other, 'spawn');
    await body(other.pid!);
  } finally {
    other.kill('SIGKILL');
  }
}

async function takesOver(text: string): Promise<void> {
  const dir = await folder();
  try {
    await writeFile(join(dir, DATA_FOLDER_LOCK), text);
    const lock = await lockDataFolder(dir);
    assert.equal(lock.held, true);
    assert.equal(JSON.parse(await readFile(lock.file, 'utf8')).pid, process.pid);
    assert.deepEqual(await readdir(dir), [DATA_FOLDER_LOCK]);
    await lock.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function refuses(text: string, message: RegExp): Promise<void> {
  const dir = await folder();
  try {
    await writeFile(join(dir, DATA_FOLDER_LOCK), text);
    await assert.rejects(lockDataFolder(dir), message);
    assert.equal(await readFile(join(dir, DATA_FOLDER_LOCK), 'utf8'), text, 'the lock is left as it was');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("the data folder's lock", () => {
  test('refuses a second app, naming the folder, the process that holds it and how to go on', async () => {
    const dir = await folder();
    const first = await lockDataFolder(dir);
    try {
      await assert.rejects(lockDataFolder(dir, { otherFolder: '--data DIR' }), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'OUTPUT_BUSY');
        assert.ok(e.message.startsWith(`${dir}: this data folder is in use by another X-UMX Studio`), e.message);
        assert.match(e.message, new RegExp(`process ${process.pid}\\b`));
        assert.match(e.message, /Close that app, or start this one with another data folder \(--data DIR\)/);
        assert.ok(e.message.includes(join(dir, DATA_FOLDER_LOCK)), 'names the lock to remove if nothing runs');
        return true;
      });
      assert.deepEqual(await readdir(dir), [DATA_FOLDER_LOCK], 'the refused app leaves nothing behind');
    } finally {
      await first.release();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('refuses while the process named in the lock runs, and takes the folder over once it is killed', async () => {
    const dir = await folder();
    const other = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    try {
      await once(other, 'spawn');
      await writeFile(join(dir, DATA_FOLDER_LOCK), lockOf(other.pid!));
      await assert.rejects(lockDataFolder(dir), new RegExp(`process ${other.pid}\\b`));
      other.kill('SIGKILL');
      await once(other, 'exit');
      const lock = await lockDataFolder(dir);
      assert.equal(lock.held, true);
      assert.equal(JSON.parse(await readFile(lock.file, 'utf8')).pid, process.pid);
      await lock.release();
    } finally {
      other.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('takes over a lock whose process has ended, leaving no copy of it', async () => {
    const dir = await folder();
    await writeFile(join(dir, DATA_FOLDER_LOCK), lockOf(endedPid()));
    const lock = await lockDataFolder(dir);
    try {
      assert.equal(lock.held, true);
      assert.equal(JSON.parse(await readFile(lock.file, 'utf8')).pid, process.pid);
      assert.deepEqual(await readdir(dir), [DATA_FOLDER_LOCK]);
    } finally {
      await lock.release();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("takes over a lock with this app's own pid from an earlier run (a container gives every start the same pid)", async () => {
    const dir = await folder();
    await writeFile(join(dir, DATA_FOLDER_LOCK), lockOf(process.pid));
    const lock = await lockDataFolder(dir);
    assert.equal(lock.held, true);
    await lock.release();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, text] of [
    ['empty', ''],
    ['not JSON', '\u0000garbage{'],
    ['JSON naming no process', '{"pid":"twelve"}'],
    ['JSON null', 'null'],
    ['naming process 0', lockOf(0)],
    ['naming a negative process', lockOf(-5)],
    ['naming a process beyond any pid', lockOf(2 ** 40)],
  ] as const) {
    test(`takes over a lock file that is ${what}`, async () => {
      const dir = await folder();
      await writeFile(join(dir, DATA_FOLDER_LOCK), text);
      const lock = await lockDataFolder(dir);
      assert.equal(lock.held, true);
      assert.deepEqual(await readdir(dir), [DATA_FOLDER_LOCK]);
      await lock.release();
      await rm(dir, { recursive: true, force: true });
    });
  }

  test('refuses a lock held by a process of another computer (its pid says nothing here)', async () => {
    const dir = await folder();
    await writeFile(join(dir, DATA_FOLDER_LOCK), lockOf(endedPid(), 'ffffffff'));
    await assert.rejects(lockDataFolder(dir), /process \d+ on another computer/);
    await rm(dir, { recursive: true, force: true });
  });

  test('takes over a lock written before this machine last started, though its pid now runs another program', () =>
    withRunningProcess((pid) =>
      takesOver(JSON.stringify({ host: THIS_HOST, pid, run: '0123abcd', started: '2001-02-03T04:05:06.000Z' })),
    ));

  test('takes over a lock whose pid belongs to a program started after the lock was written', () =>
    withRunningProcess((pid) =>
      takesOver(
        JSON.stringify({ host: THIS_HOST, pid, run: '0123abcd', started: new Date(Date.now() - 60_000).toISOString() }),
      ),
    ));

  test(
    'takes over a lock of an earlier boot of this machine, though its pid now runs another program',
    {
      skip: !linux && 'boot ids are read on Linux',
    },
    () =>
      withRunningProcess((pid) =>
        takesOver(
          JSON.stringify({
            host: THIS_HOST,
            pid,
            run: '0123abcd',
            started: new Date().toISOString(),
            boot: '00000000-1111-2222-3333-444444444444',
            pidns: pidNamespace(),
            since: startTicks(pid),
          }),
        ),
      ),
  );

  test(
    'tells a running owner from another program that got its pid by when each started',
    {
      skip: !linux && 'process starts are read on Linux',
    },
    () =>
      withRunningProcess(async (pid) => {
        const owner = { host: THIS_HOST, pid, run: '0123abcd', started: new Date().toISOString(), boot: bootId() };
        const since = startTicks(pid);
        await refuses(JSON.stringify({ ...owner, pidns: pidNamespace(), since }), new RegExp(`process ${pid}\\b`));
        await takesOver(JSON.stringify({ ...owner, pidns: pidNamespace(), since: since - 1 }));
      }),
  );

  test(
    'judges the lock of this boot and these processes by its pid though the host name changed',
    {
      skip: !linux && 'boot ids are read on Linux',
    },
    async () => {
      const renamed = { host: 'ffffffff', run: '0123abcd', started: new Date().toISOString(), boot: bootId() };
      await takesOver(JSON.stringify({ ...renamed, pid: endedPid(), pidns: pidNamespace() }));
      await withRunningProcess((pid) =>
        refuses(
          JSON.stringify({ ...renamed, pid, pidns: pidNamespace(), since: startTicks(pid) }),
          new RegExp(`in use by another X-UMX Studio \\(process ${pid}\\)`),
        ),
      );
    },
  );

  test(
    'refuses the lock of another pid namespace on this kernel even under this host name (its pid says nothing here)',
    { skip: !linux && 'pid namespaces are read on Linux' },
    async () => {
      const sameName = { host: THIS_HOST, run: '0123abcd', started: new Date().toISOString(), boot: bootId() };
      await refuses(
        JSON.stringify({ ...sameName, pid: endedPid(), pidns: 'pid:[1]' }),
        /another computer or container/,
      );
      await refuses(
        JSON.stringify({ ...sameName, pid: process.pid, pidns: 'pid:[1]' }),
        /another computer or container/,
      );
    },
  );

  test(
    'refuses the lock of another computer with this host name (another machine id), whatever its boot',
    { skip: !machineId() && 'no machine id here' },
    async () => {
      // Two computers called the same (a default host name) sharing a data folder on a network drive: the other's
      // lock must hold though its boot is not ours, and a lock of ours from an earlier boot is still ours to take.
      const owner = { host: THIS_HOST, run: '0123abcd', started: new Date().toISOString(), pid: endedPid() };
      const otherBoot = { boot: '00000000-1111-2222-3333-444444444444', pidns: 'pid:[4026531836]' };
      await refuses(JSON.stringify({ ...owner, ...otherBoot, machine: 'ffffffffffffffff' }), /another computer/);
      await takesOver(JSON.stringify({ ...owner, ...otherBoot, machine: thisLockOwner().machine }));
    },
  );

  test('refuses the lock of another container, naming it and saying how to go on if it is gone', async () => {
    const lock = JSON.stringify({
      host: 'ffffffff',
      hostName: 'c0ffee123456',
      pid: endedPid(),
      run: '0123abcd',
      started: '2026-12-07T10:00:00.000Z',
      boot: linux ? bootId() : undefined,
      pidns: 'pid:[1]',
    });
    await refuses(
      lock,
      /process \d+ on another computer or container: host c0ffee123456, locked at 2026-12-07T10:00:00\.000Z\)/,
    );
    await refuses(lock, /--hostname/);
  });

  test('is released on dispose, so the next app takes the folder; releasing twice is harmless', async () => {
    const dir = await folder();
    const first = await lockDataFolder(dir);
    await first.release();
    await first.release();
    assert.deepEqual(await readdir(dir), []);
    const next = await lockDataFolder(dir);
    assert.equal(next.held, true);
    await next.release();
    await rm(dir, { recursive: true, force: true });
  });

  test('releasing leaves alone a lock that another app has since taken over', async () => {
    const dir = await folder();
    const first = await lockDataFolder(dir);
    await writeFile(first.file, lockOf(endedPid()));
    const second = await lockDataFolder(dir);
    await first.release();
    assert.equal(JSON.parse(await readFile(second.file, 'utf8')).pid, process.pid, 'the second app keeps its lock');
    await second.release();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, before] of [
    ['an empty folder', null],
    ['an abandoned lock', lockOf(0x7ffffff0)],
  ] as const) {
    test(`gives ${what} to exactly one of two apps starting at once`, async () => {
      const dir = await folder();
      if (before !== null) await writeFile(join(dir, DATA_FOLDER_LOCK), before);
      const tries = await Promise.allSettled(Array.from({ length: 12 }, () => lockDataFolder(dir)));
      const held = tries.filter((t) => t.status === 'fulfilled');
      assert.equal(held.length, 1, tries.map((t) => (t.status === 'rejected' ? String(t.reason) : 'held')).join('\n'));
      for (const t of tries) if (t.status === 'rejected') assert.match(String(t.reason), /in use by another/);
      assert.deepEqual(await readdir(dir), [DATA_FOLDER_LOCK]);
      await held[0].value.release();
      await rm(dir, { recursive: true, force: true });
    });
  }

  test('puts back a live lock that replaced the abandoned one after it was judged, and removes only what it judged', async () => {
    const dir = await folder();
    const file = join(dir, DATA_FOLDER_LOCK);
    const abandoned = lockOf(endedPid());
    // Another app took the abandoned lock over between this app reading it and moving it aside.
    const live = lockOf(process.ppid);
    await writeFile(file, live);
    await takeOverAbandoned(file, abandoned);
    assert.equal(await readFile(file, 'utf8'), live);
    assert.deepEqual(await readdir(dir), [DATA_FOLDER_LOCK], 'nothing is left aside');
    await writeFile(file, abandoned);
    await takeOverAbandoned(file, abandoned);
    assert.deepEqual(await readdir(dir), []);
    await rm(dir, { recursive: true, force: true });
  });

  test('lets the app run without the lock, saying so, where the data folder cannot be written', async () => {
    const dir = await folder();
    // A file where a folder of the path belongs fails every write below it, even for root.
    await writeFile(join(dir, 'not-a-folder'), '');
    const data = join(dir, 'not-a-folder', 'data');
    const lock = await lockDataFolder(data);
    assert.equal(lock.held, false);
    assert.ok(lock.notice?.startsWith(`${join(data, DATA_FOLDER_LOCK)}: could not be written`), lock.notice ?? '');
    await lock.release();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [what, text] of [
    ['of an app that was killed', lockOf(endedPid())],
    ['that is damaged', 'garbage{'],
  ] as const) {
    test(`lets the app run without the lock on a read-only data folder holding a lock ${what}`, async (t) => {
      // A disk remounted read-only after an app was killed on it: the lock can be neither taken over nor removed.
      const dir = await folder();
      await onReadOnlyDisk(
        t,
        dir,
        () => writeFile(join(dir, DATA_FOLDER_LOCK), text),
        async () => {
          const lock = await lockDataFolder(dir);
          assert.equal(lock.held, false);
          const file = join(dir, DATA_FOLDER_LOCK);
          assert.ok(
            lock.notice?.startsWith(`${file}: could not be written (the file system is read-only);`),
            lock.notice!,
          );
          assert.equal(await readFile(join(dir, DATA_FOLDER_LOCK), 'utf8'), text);
        },
      );
    });
  }

  test('names a folder standing where the lock belongs instead of removing it', async () => {
    const dir = await folder();
    await mkdir(join(dir, DATA_FOLDER_LOCK));
    await writeFile(join(dir, DATA_FOLDER_LOCK, 'keep'), '');
    await assert.rejects(lockDataFolder(dir), /studio\.lock: is not a lock file/);
    assert.deepEqual(await readdir(join(dir, DATA_FOLDER_LOCK)), ['keep']);
    await rm(dir, { recursive: true, force: true });
  });
});
