import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { THIS_HOST } from '../temp-files.ts';
import { SongFileWriter } from './song-samples.ts';
import { XumxError } from '../errors.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'xumx-song-samples-'));

function ramp(n: number, from: number): Float32Array[] {
  return [
    Float32Array.from({ length: n }, (_, i) => from + i),
    Float32Array.from({ length: n }, (_, i) => -(from + i)),
  ];
}

describe('prepared song samples on disk', () => {
  test('a writer held keeps only its lead ahead of the reads; a read past what is written, or the release, lets it on', async () => {
    const writer = await SongFileWriter.create(tmp(), '/music/song.wav');
    const song = writer.readWhileWriting(1000);
    let free!: () => void;
    const freed = new Promise<void>((resolve) => (free = resolve));
    await writer.write(ramp(300, 0));
    const settled = (p: Promise<unknown>) =>
      Promise.race([p.then(() => true), new Promise((r) => setTimeout(() => r(false), 50))]);
    // Nothing asked yet: held all the same.
    assert.equal(await settled(song.holdWriter(100, freed)), false, 'held before the first read');
    await song.read(0, 10);
    // 300 written, 10 asked: 300 ≥ 10 + 100, held.
    let held = song.holdWriter(100, freed);
    assert.equal(await settled(held), false, 'held while ahead');
    const reading = song.read(0, 250); // within what is written, asking up to 250: 300 < 350, on again
    assert.equal(await settled(held), true, 'a read asking near the written end lets it on');
    await reading;
    held = song.holdWriter(10, freed); // 300 ≥ 250 + 10: held again
    assert.equal(await settled(held), false);
    const past = song.read(250, 100); // past what is written: wakes the writer
    assert.equal(await settled(held), true);
    await writer.write(ramp(700, 300));
    await writer.finish();
    await past;
    free();
    assert.equal(await settled(song.holdWriter(10, freed)), true, 'not held once freed');
    await song.release();
  });

  test('a song of no frames at the model rate (3 samples at 384 kHz), read while written, stays its reader’s', async () => {
    const folder = tmp();
    const writer = await SongFileWriter.create(folder, '/music/short.wav');
    const song = writer.readWhileWriting(0);
    await writer.finish();
    assert.deepEqual(await song.read(0, 2), [new Float32Array(2), new Float32Array(2)]);
    assert.equal(readdirSync(folder).length, 1, 'the file stays until its reader lets go');
    await song.release();
    assert.deepEqual(readdirSync(folder), []);
  });

  test('reads back any stretch of what was written in pieces, silence past the end', async () => {
    const writer = await SongFileWriter.create(tmp(), '/music/song.wav');
    // Pieces of odd sizes, one larger than the writer's own buffer.
    let at = 0;
    for (const n of [1, 1000, 200_000, 7]) {
      await writer.write(ramp(n, at));
      at += n;
    }
    const song = await writer.finish();
    assert.equal(song.frames, at);
    assert.deepEqual(await song.read(0, 3), [Float32Array.of(0, 1, 2), Float32Array.of(-0, -1, -2)]);
    assert.deepEqual(await song.read(131_070, 5), ramp(5, 131_070));
    assert.deepEqual(await song.read(at - 2, 4), [
      Float32Array.of(at - 2, at - 1, 0, 0),
      Float32Array.of(-(at - 2), -(at - 1), 0, 0),
    ]);
    assert.deepEqual(await song.read(at + 10, 2), [new Float32Array(2), new Float32Array(2)]);
    await song.release();
  });

  test('read while written: a read waits for its frames, and the file stays until the reader and the writer are done', async () => {
    const dir = tmp();
    const writer = await SongFileWriter.create(dir, '/music/song.wav');
    const song = writer.readWhileWriting(3000);
    assert.equal(song.frames, 3000);
    await writer.write(ramp(1000, 0));
    assert.deepEqual(await song.read(10, 3), ramp(3, 10), 'frames written already are read at once');
    let settled = false;
    const waiting = song.read(1500, 1000).then((r) => ((settled = true), r));
    await writer.write(ramp(1000, 1000));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(settled, false, 'frames 2000-2500 are not written yet');
    await writer.write(ramp(1000, 2000));
    assert.deepEqual(await waiting, ramp(1000, 1500));
    assert.equal(await writer.finish(), song);
    assert.equal(readdirSync(dir).length, 1, "the reader's file is still there");
    await song.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('read while written: what the writer never wrote fails with the reason it stopped; the file then goes', async () => {
    const dir = tmp();
    const writer = await SongFileWriter.create(dir, '/music/song.wav');
    const song = writer.readWhileWriting(3000);
    await writer.write(ramp(1000, 0));
    const waiting = song.read(900, 200);
    const reason = new XumxError('TRUNCATED', '/music/song.wav: the file ends early', '/music/song.wav');
    await writer.abort(reason);
    await assert.rejects(waiting, (e: XumxError) => e === reason);
    await assert.rejects(song.read(2000, 1), (e: XumxError) => e === reason);
    assert.deepEqual(await song.read(0, 2), ramp(2, 0), 'what was written can still be read');
    await song.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('read while written: fewer frames than promised fail the finish and the reads past them', async () => {
    const dir = tmp();
    const writer = await SongFileWriter.create(dir, '/music/song.wav');
    const song = writer.readWhileWriting(3000);
    await writer.write(ramp(2000, 0));
    const waiting = song.read(1999, 2);
    await assert.rejects(writer.finish(), /2000 frames, its input's header promised 3000/);
    await assert.rejects(waiting, /2000 frames, its input's header promised 3000/);
    await song.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('the file goes when the last of its users lets it go', async () => {
    const dir = tmp();
    const writer = await SongFileWriter.create(dir, '/music/song.wav');
    await writer.write(ramp(10, 0));
    const song = await writer.finish();
    song.retain();
    await song.release();
    assert.equal(readdirSync(dir).length, 1, 'one user is left');
    await song.release();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('removes the prepared songs that ended processes left behind, and leaves those of running ones', async () => {
    const dir = tmp();
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const left = `.song.wav.xumx-${THIS_HOST}-${gone}-0123abcd-89abcdef.samples`;
    const running = `.other.wav.xumx-${THIS_HOST}-${process.ppid}-0123abcd-89abcdef.samples`;
    writeFileSync(join(dir, left), 'samples');
    writeFileSync(join(dir, running), 'samples');
    const writer = await SongFileWriter.create(dir, '/music/song.wav');
    const names = readdirSync(dir);
    assert.ok(!names.includes(left), "the ended process's song is removed");
    assert.ok(names.includes(running), "the running process's song stays");
    await writer.abort();
    assert.deepEqual(readdirSync(dir), [running]);
  });
});
