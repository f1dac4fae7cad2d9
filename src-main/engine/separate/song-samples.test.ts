import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { THIS_HOST } from '../temp-files.ts';
import { SongFileWriter } from './song-samples.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'xumx-song-samples-'));

function ramp(n: number, from: number): Float32Array[] {
  return [
    Float32Array.from({ length: n }, (_, i) => from + i),
    Float32Array.from({ length: n }, (_, i) => -(from + i)),
  ];
}

describe('prepared song samples on disk', () => {
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
