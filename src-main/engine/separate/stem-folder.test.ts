import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { StemOutputs } from './outputs.ts';
import { SONG_MARK } from './stem-folder.ts';
import { outputError } from '../output-error.ts';
import { onReadOnlyDisk } from '../../../test/fixtures/read-only-disk.ts';

function temp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `xumx-stem-folder-${prefix}-`));
}

/** A real input file at `dir/name` (its bytes do not matter: only its name and place are read). */
function song(dir: string, name: string, bytes = 'x'): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

/** What one finished job leaves: one stem whose content names the job. */
async function separate(out: string, input: string, content: string): Promise<string> {
  const o = await StemOutputs.create(out, input, ['vocals'], 'wav');
  writeFileSync(o.tempPath('vocals'), content);
  await o.commit();
  return o.dir;
}

describe('stem folders', () => {
  test('keeps the stem folder of a file named only dots and an extension inside the output folder, visible', async () => {
    const src = temp('in');
    for (const name of ['...wav', '..wav', '.wav', '...', ' .. .wav']) {
      const out = temp('out');
      const o = await StemOutputs.create(out, song(src, name), ['vocals'], 'wav');
      assert.equal(dirname(o.dir), out, `${JSON.stringify(name)} → ${o.dir}`);
      assert.doesNotMatch(
        basename(o.dir),
        /^[.\s]|[.\s]$/,
        `${JSON.stringify(name)} → hidden or trailing-dot folder ${o.dir}`,
      );
      await o.discard();
    }
  });

  test('keeps the plain name of an ordinary song, dots inside it included', async () => {
    const src = temp('in');
    const out = temp('out');
    const o = await StemOutputs.create(out, song(src, 'Mr. Blue Sky.flac'), ['vocals'], 'wav');
    assert.equal(o.dir, join(out, 'Mr. Blue Sky'));
    await o.discard();
  });

  test('gives a different song with the same name its own folder, "song (2)", and leaves the first one\'s stems alone', async () => {
    const out = temp('out');
    const a = song(join(temp('in'), 'a'), 'song.wav');
    const b = song(join(temp('in'), 'b'), 'song.wav');
    const c = song(dirname(a), 'song.flac');
    assert.equal(await separate(out, a, 'A'), join(out, 'song'));
    assert.equal(await separate(out, b, 'B'), join(out, 'song (2)'));
    assert.equal(await separate(out, c, 'C'), join(out, 'song (3)'));
    assert.equal(readFileSync(join(out, 'song', 'vocals.wav'), 'utf8'), 'A');
    assert.equal(readFileSync(join(out, 'song (2)', 'vocals.wav'), 'utf8'), 'B');
  });

  test('gives a song separated again its own folder back, and replaces its stems there', async () => {
    const out = temp('out');
    const a = song(join(temp('in'), 'a'), 'song.wav');
    const b = song(join(temp('in'), 'b'), 'song.wav');
    await separate(out, a, 'A1');
    await separate(out, b, 'B1');
    assert.equal(await separate(out, b, 'B2'), join(out, 'song (2)'));
    assert.equal(await separate(out, a, 'A2'), join(out, 'song'));
    assert.equal(readFileSync(join(out, 'song', 'vocals.wav'), 'utf8'), 'A2');
    assert.equal(readFileSync(join(out, 'song (2)', 'vocals.wav'), 'utf8'), 'B2');
    assert.deepEqual(readdirSync(out).sort(), ['song', 'song (2)']);
  });

  test('does not write into a folder of the same name that holds files the app did not write', async () => {
    const out = temp('out');
    mkdirSync(join(out, 'song'));
    writeFileSync(join(out, 'song', 'notes.txt'), 'mine');
    const dir = await separate(out, song(temp('in'), 'song.wav'), 'S');
    assert.equal(dir, join(out, 'song (2)'));
    assert.deepEqual(readdirSync(join(out, 'song')), ['notes.txt']);
  });

  test('gives two same-named songs started at the same moment two folders', async () => {
    const out = temp('out');
    const a = song(join(temp('in'), 'a'), 'song.wav');
    const b = song(join(temp('in'), 'b'), 'song.wav');
    const [oa, ob] = await Promise.all([
      StemOutputs.create(out, a, ['vocals'], 'wav'),
      StemOutputs.create(out, b, ['vocals'], 'wav'),
    ]);
    assert.notEqual(oa.dir, ob.dir);
    await oa.discard();
    await ob.discard();
  });

  test('an output folder to be made on a read-only disk is refused as read-only, not as missing', async (t) => {
    const disk = temp('ro');
    const input = song(temp('in'), 'song.wav');
    await onReadOnlyDisk(
      t,
      disk,
      async () => {},
      async () => {
        const made = StemOutputs.create(join(disk, 'stems', 'new'), input, ['vocals'], 'wav');
        await assert.rejects(made, (e: unknown) => {
          assert.match(outputError(e, join(disk, 'stems', 'new')).message, /read-only/);
          return true;
        });
      },
    );
  });

  test('leaves nothing behind when a job that made a new stem folder is discarded', async () => {
    const out = temp('out');
    const o = await StemOutputs.create(out, song(temp('in'), 'song.wav'), ['vocals'], 'wav');
    writeFileSync(o.tempPath('vocals'), 'partial');
    await o.discard();
    assert.deepEqual(readdirSync(out), []);
    assert.ok(!existsSync(o.dir));
  });

  test('passes over a link in the place of a stem folder instead of writing where it points', async () => {
    const out = temp('out');
    const elsewhere = temp('elsewhere');
    symlinkSync(elsewhere, join(out, 'song'));
    const dir = await separate(out, song(temp('in'), 'song.wav'), 'mine');
    assert.equal(dir, join(out, 'song (2)'));
    assert.deepEqual(readdirSync(elsewhere), [], 'nothing is written through the link');
  });

  test(
    'passes over a folder whose song mark is not a plain file (a named pipe would block reading it)',
    { timeout: 20_000 },
    async () => {
      const out = temp('out');
      mkdirSync(join(out, 'song'));
      execFileSync('mkfifo', [join(out, 'song', SONG_MARK)]);
      const dir = await separate(out, song(temp('in'), 'song.wav'), 'mine');
      assert.equal(dir, join(out, 'song (2)'));
    },
  );
});
