import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { endedPid } from './testing/ended-process.ts';
import { ownerIsGone, parseTempName, removeStaleTemps, tempName, THIS_HOST } from './temp-files.ts';

/** A temporary name as process `pid` would have made it. */
const nameOf = (pid: number, name: string, kind = 'partial', host = THIS_HOST) =>
  `.${name}.xumx-${host}-${pid}-0123abcd-89abcdef.${kind}`;

describe('temporary files', () => {
  test('a name says what it stands for, its kind and its owner', () => {
    const t = parseTempName(tempName('vocals.wav', 'aside'))!;
    assert.deepEqual(
      { name: t.name, kind: t.kind, pid: t.pid },
      { name: 'vocals.wav', kind: 'aside', pid: process.pid },
    );
    assert.equal(parseTempName('.vocals.wav'), null);
    assert.equal(
      parseTempName(`vocals.wav.xumx-${THIS_HOST}-12-0123abcd-89abcdef.partial`),
      null,
      'not hidden: not ours',
    );
  });

  test('a name fits in a folder (255 bytes) whatever the length of the file it stands for, and can be written', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-temp-long-'));
    // Legal file names: 244 bytes, and 83 three-byte characters (249 bytes), as long titles are.
    for (const name of [`${'x'.repeat(240)}.wav`, `${'曲'.repeat(82)}.wav`]) {
      const temp = tempName(name, 'samples');
      assert.ok(Buffer.byteLength(temp) <= 255, `${Buffer.byteLength(temp)} bytes`);
      assert.equal(parseTempName(temp)?.kind, 'samples');
      writeFileSync(join(dir, temp), '');
      assert.notEqual(tempName(name), tempName(name), 'two stay apart');
    }
    assert.equal(parseTempName(tempName('vocals.wav'))?.name, 'vocals.wav', 'a short name is kept whole');
  });

  test('a worker thread of this process is not taken for an ended process', async () => {
    const url = new URL('./temp-files.ts', import.meta.url).href;
    const worker = new Worker(
      `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(import.meta.url)}))
      .then((m) => require('node:worker_threads').parentPort.postMessage(m.tempName('x')))`,
      { eval: true },
    );
    const name = await new Promise<string>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await worker.terminate();
    assert.equal(ownerIsGone(parseTempName(name)!), false, name);
  });

  test('removes what ended processes left, files and folders, and nothing of a live process or of anyone else', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xumx-temps-'));
    const gone = endedPid();
    writeFileSync(join(dir, nameOf(gone, 'vocals.wav')), 'x');
    mkdirSync(join(dir, nameOf(gone, 'stem-file')));
    writeFileSync(join(dir, nameOf(gone, 'stem-file'), 'bass.wav'), 'x');
    const live = [tempName('drums.wav'), nameOf(process.ppid, 'bass.wav'), '.other.wav.partial-0123', 'song.wav'];
    for (const n of live) writeFileSync(join(dir, n), 'x');
    assert.deepEqual(await removeStaleTemps(dir), []);
    assert.deepEqual(readdirSync(dir).sort(), [...live].sort());
  });

  test('leaves what a process of another machine or container left alone until it is a day old', async () => {
    // Another host's process ids mean nothing here: a live job there must not lose its files to a job here.
    const dir = mkdtempSync(join(tmpdir(), 'xumx-temps-'));
    const other = THIS_HOST === '00000000' ? '11111111' : '00000000';
    const theirs = nameOf(endedPid(), 'vocals.wav', 'partial', other);
    writeFileSync(join(dir, theirs), 'x');
    assert.deepEqual(await removeStaleTemps(dir), []);
    assert.deepEqual(readdirSync(dir), [theirs]);
    const twoDaysAgo = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(join(dir, theirs), twoDaysAgo, twoDaysAgo);
    await removeStaleTemps(dir);
    assert.deepEqual(readdirSync(dir), []);
  });
});
