// A song's stems are all new or all old: whatever fails, and wherever a job is killed, the stem folder ends up with
// one complete set of stems and no temporary files once the next job writes there.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fsModule from 'node:fs';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { XumxError } from '../errors.ts';
import { StemOutputs } from './outputs.ts';
import { SONG_MARK } from './stem-folder.ts';
import { THIS_HOST } from '../temp-files.ts';
import { endedPid } from '../testing/ended-process.ts';
import { separateFile } from './pipeline.ts';
import { fakeModel, testSignal } from './testing/fakes.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'xumx-outputs-'));
const CHILD = new URL('./testing/interrupted-job.ts', import.meta.url).pathname;
const SOURCES = ['vocals', 'drums', 'bass'];

/** Runs interrupted-job.ts; kills it with SIGKILL as soon as it says it paused. Resolves to what it printed. */
function runInterrupted(args: string[]): Promise<'paused' | 'done'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '',
      paused = false;
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!paused && stdout.includes('paused')) {
        paused = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (paused && signal === 'SIGKILL') resolve('paused');
      else if (code === 0 && stdout.includes('done')) resolve('done');
      else reject(new Error(`the child ended with ${code ?? signal}: ${stderr}`));
    });
  });
}

/** The stem folder's contents but its song mark: each stem's text ("old x" / "new x"), folders as "folder", hidden names listed. */
function contents(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir))
    if (n !== SONG_MARK) out[n] = statSync(join(dir, n)).isDirectory() ? 'folder' : readFileSync(join(dir, n), 'utf8');
  return out;
}

const stemSet = (age: 'old' | 'new') => Object.fromEntries(SOURCES.map((s) => [`${s}.wav`, `${age} ${s}`]));

function oldStems(out: string): string {
  const dir = join(out, 'song');
  mkdirSync(dir, { recursive: true });
  // The stems of an earlier run of the same song: the folder is marked as that song's.
  writeFileSync(join(dir, SONG_MARK), '/music/song.mp3');
  for (const s of SOURCES) writeFileSync(join(dir, `${s}.wav`), `old ${s}`);
  return dir;
}

async function newStems(out: string): Promise<StemOutputs> {
  const outputs = await StemOutputs.create(out, '/music/song.mp3', SOURCES, 'wav');
  for (const s of SOURCES) writeFileSync(outputs.tempPath(s), `new ${s}`);
  return outputs;
}

describe('stem outputs', () => {
  test('keeps the previous stems when a folder is in the way of one of them', async () => {
    // The first stem renamed and one renamed after others: a check that comes too late fails the second.
    for (const blocked of ['vocals', 'bass']) {
      const out = tmp();
      const dir = oldStems(out);
      rmSync(join(dir, `${blocked}.wav`));
      mkdirSync(join(dir, `${blocked}.wav`));
      const expected = { ...stemSet('old'), [`${blocked}.wav`]: 'folder' };
      const outputs = await newStems(out);
      await assert.rejects(
        outputs.commit(),
        (e: XumxError) => e.code === 'OUTPUT_NOT_WRITABLE' && e.message.startsWith(`${join(dir, `${blocked}.wav`)}: `),
      );
      await outputs.discard();
      assert.deepEqual(contents(dir), expected);
    }
  });

  test('puts the previous stems back when any rename of the commit fails', async () => {
    const p = fsModule.promises as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
    const original = p.rename;
    let failed = 0;
    try {
      for (let failAt = 1; ; failAt++) {
        const out = tmp();
        const dir = oldStems(out);
        const outputs = await newStems(out);
        let renames = 0;
        p.rename = async (...a: unknown[]) => {
          if (++renames === failAt)
            throw Object.assign(new Error('EACCES: permission denied, rename'), { code: 'EACCES', syscall: 'rename' });
          return original(...a);
        };
        syncBuiltinESMExports();
        const committed = await outputs.commit().then(
          () => true,
          (e: XumxError) => {
            assert.equal(e.code, 'OUTPUT_NOT_WRITABLE', e.message);
            return false;
          },
        );
        p.rename = original;
        syncBuiltinESMExports();
        if (committed) {
          assert.deepEqual(contents(dir), stemSet('new'));
          break;
        }
        failed++;
        await outputs.discard();
        assert.deepEqual(contents(dir), stemSet('old'), `rename ${failAt} failed`);
      }
    } finally {
      p.rename = original;
      syncBuiltinESMExports();
    }
    assert.ok(failed >= 2 * SOURCES.length, `only ${failed} renames to fail`);
  });

  test('a commit killed at any step leaves the old or the new stems, complete, once the next job writes there', async () => {
    const out = tmp();
    let mixed = 0;
    for (let step = 1; ; step++) {
      const dir = oldStems(out);
      const said = await runInterrupted(['commit', out, '/music/song.mp3', String(step), ...SOURCES]);
      if (said === 'done') {
        assert.ok(step > SOURCES.length, `the commit took only ${step - 1} steps`);
        assert.deepEqual(contents(dir), stemSet('new'));
        break;
      }
      const left = contents(dir);
      const visible = Object.keys(left).filter((n) => !n.startsWith('.'));
      if (visible.length < SOURCES.length || new Set(visible.map((n) => left[n].split(' ')[0])).size > 1) mixed++;
      await (await StemOutputs.create(out, '/music/song.mp3', SOURCES, 'wav')).discard();
      const after = contents(dir);
      assert.ok(
        isDeepStrictEqual(after, stemSet('old')) || isDeepStrictEqual(after, stemSet('new')),
        `killed after step ${step}: ${JSON.stringify(left)} became ${JSON.stringify(after)}`,
      );
    }
    assert.ok(mixed > 0, 'no kill left a mixed or incomplete set: the test would prove nothing');
  });

  test('a job killed while writing its stems leaves no temporary file once the next job writes into that folder', async () => {
    const out = tmp();
    assert.equal(await runInterrupted(['write', out, '/music/song.wav']), 'paused');
    assert.ok(
      readdirSync(join(out, 'song')).some((n) => n.startsWith('.')),
      'the killed job left no temporary file: the test would prove nothing',
    );
    await separateFile(
      {
        input: '/music/song.wav',
        outDir: out,
        format: 'wav',
        bitDepth: 24,
        controls: { wienerIterations: 0, softmask: false, residual: false },
        segments: { segmentFrames: 32, overlapFrames: 4, batch: 2 },
      },
      fakeModel(['a', 'b'], () => 0.5),
      {
        decode: async () => ({ sampleRate: 44100, channels: testSignal(44100), notices: [] }),
        createStemWriter: async (path) => ({
          async write() {},
          async close() {
            writeFileSync(path, 'stem');
          },
          async abort() {},
          notices: [],
        }),
      },
    );
    assert.deepEqual(readdirSync(out), ['song']);
    assert.deepEqual(readdirSync(join(out, 'song')).sort(), [SONG_MARK, 'a.wav', 'b.wav']);
  });

  test('a second job for the same song while the first still writes is refused with OUTPUT_BUSY and changes nothing', async () => {
    const out = tmp();
    const dir = oldStems(out);
    const first = await newStems(out);
    await assert.rejects(StemOutputs.create(out, '/music/song.mp3', SOURCES, 'wav'), (e: XumxError) => {
      assert.equal(e.code, 'OUTPUT_BUSY', e.message);
      assert.match(e.message, new RegExp(`^${dir}: `));
      return true;
    });
    await first.commit();
    assert.deepEqual(contents(dir), stemSet('new'));
    const second = await StemOutputs.create(out, '/music/song.mp3', SOURCES, 'wav');
    await second.discard();
    assert.deepEqual(contents(dir), stemSet('new'));
  });

  test('a song folder locked by a process that has ended is taken over', async () => {
    const out = tmp();
    const dir = oldStems(out);
    const gone = endedPid();
    writeFileSync(join(dir, '.xumx-lock'), JSON.stringify({ host: THIS_HOST, pid: gone, run: '0123abcd' }));
    const outputs = await newStems(out);
    await outputs.commit();
    assert.deepEqual(contents(dir), stemSet('new'));
  });
});
