// Everything that can go wrong with one file, through the CLI: the whole bad-input corpus, an output folder
// that cannot be written, a full disk, broken or missing models. Each gives a typed error naming the file and
// writes nothing.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { badInputs } from '../fixtures/bad-inputs.ts';
import { ffmpegFixture, hasFfmpeg } from '../fixtures/audio.ts';
import { songName } from '../../src-main/engine/separate/song-name.ts';
import { filesUnder, runCli, tempDir } from './helpers/cli.ts';
import { brokenModel, canBuildModels, testModel, type BrokenKind } from './helpers/models.ts';
import { onSmallDisk } from '../fixtures/small-disk.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;
const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

describe('xumx-studio separate on bad input', { skip }, () => {
  let models: string;
  let goodSong: string;
  before(() => {
    models = testModel().root;
    const dir = tempDir('good');
    chmodSync(dir, 0o755);
    goodSong = ffmpegFixture(join(dir, 'good.wav'), { seconds: 1, codecArgs: ['-c:a', 'pcm_s16le'], container: 'wav' });
    chmodSync(goodSong, 0o644);
  });

  test(`each of the ${badInputs.length} bad-input cases gives its error code, names the file, and writes nothing`, async () => {
    assert.ok(badInputs.length >= 20);
    const made: { name: string; path: string; expectCode: string; unprivileged: boolean }[] = [];
    for (const c of badInputs) {
      const dir = tempDir('bad');
      made.push({
        name: c.name,
        path: await c.make(dir),
        expectCode: c.expectCode,
        unprivileged: Boolean(c.needsUnprivilegedUser),
      });
    }
    // One CLI run per group of inputs whose stem folders cannot clash, plus the unprivileged ones as `nobody`.
    const groups: (typeof made)[] = [];
    for (const m of made.filter((x) => !x.unprivileged)) {
      const group = groups.find((g) => g.every((x) => songName(x.path) !== songName(m.path)));
      if (group) group.push(m);
      else groups.push([m]);
    }
    const out = tempDir('bad-out');
    // With the estimate cache on, every input is hashed first: a pipe or a device must be refused before that.
    const cache = tempDir('bad-cache');
    chmodSync(cache, 0o777);
    const results = new Map<string, any>();
    const run = async (group: typeof made, asNobody: boolean) => {
      const r = await runCli(
        ['separate', ...group.map((m) => m.path), '--out', out, '--models-dir', models, '--cache-dir', cache, '--json'],
        { ...(asNobody ? { uid: NOBODY } : {}), timeoutMs: 120_000 },
      );
      assert.equal(r.signal, null, `the CLI hung on ${group.map((m) => m.name).join(', ')} and was killed`);
      assert.equal(r.code, 1, r.stderr);
      for (const f of JSON.parse(r.stdout).files) results.set(f.input, f);
    };
    for (const g of groups) await run(g, false);
    const locked = made.filter((x) => x.unprivileged);
    if (locked.length && isRoot) {
      chmodSync(out, 0o777);
      await run(locked, true);
    }
    for (const m of made) {
      if (m.unprivileged && !isRoot) continue;
      const r = results.get(m.path);
      assert.ok(r, `${m.name}: no result`);
      assert.equal(r.ok, false, `${m.name}: separated although bad`);
      // The CLI takes a folder as a folder to search, so a folder named like a file has no audio files in it.
      const expected = m.name === 'folder given as a file' ? 'FILE_NOT_FOUND' : m.expectCode;
      assert.equal(r.error.code, expected, `${m.name}: ${r.error.message}`);
      assert.ok(r.error.message.includes(m.path), `${m.name}: message does not name the file: ${r.error.message}`);
      assert.doesNotMatch(r.error.message, /\n\s+at /, `${m.name}: stack trace in the message`);
    }
    assert.deepEqual(filesUnder(out), []);
  });

  test('an output folder below a file is OUTPUT_NOT_WRITABLE before anything is decoded', async () => {
    const dir = tempDir('blocked');
    writeFileSync(join(dir, 'file'), 'x');
    const r = await runCli([
      'separate',
      goodSong,
      '--out',
      join(dir, 'file', 'stems'),
      '--models-dir',
      models,
      '--json',
    ]);
    assert.equal(r.code, 1);
    const f = JSON.parse(r.stdout).files[0];
    assert.equal(f.error.code, 'OUTPUT_NOT_WRITABLE');
    assert.match(f.error.message, /cannot write output here/);
    assert.deepEqual(filesUnder(dir), ['file']);
  });

  test('an output folder without write permission is OUTPUT_NOT_WRITABLE', async () => {
    const dir = tempDir('readonly');
    chmodSync(dir, 0o555);
    const r = await runCli(
      ['separate', goodSong, '--out', dir, '--models-dir', models, '--json'],
      isRoot ? { uid: NOBODY } : {},
    );
    assert.equal(r.code, 1, r.stderr);
    const f = JSON.parse(r.stdout).files[0];
    assert.equal(f.error.code, 'OUTPUT_NOT_WRITABLE', f.error.message);
    assert.deepEqual(filesUnder(dir), []);
  });

  test('a full disk is DISK_FULL naming the stem, and leaves no partial stems and no folder the run created', async (t) => {
    const mnt = tempDir('tinyfs');
    await onSmallDisk(t, mnt, '400k', async () => {
      const song = ffmpegFixture(join(tempDir('big'), 'long.wav'), {
        seconds: 6,
        codecArgs: ['-c:a', 'pcm_s16le'],
        container: 'wav',
      });
      const r = await runCli(['separate', song, '--out', join(mnt, 'stems'), '--models-dir', models, '--json']);
      assert.equal(r.code, 1);
      const f = JSON.parse(r.stdout).files[0];
      assert.equal(f.error.code, 'DISK_FULL', f.error.message);
      assert.match(f.error.message, new RegExp(`^${join(mnt, 'stems', 'long')}/(vocals|drums|bass|other)\\.wav: `));
      assert.deepEqual(filesUnder(mnt), []);
    });
  });

  test('a stem-file run that fails leaves no output folder it created', async () => {
    const dir = tempDir('stem-fail');
    const notAudio = join(dir, 'notes.wav');
    writeFileSync(notAudio, 'these are not samples');
    const r = await runCli([
      'separate',
      notAudio,
      '--out',
      join(dir, 'new', 'stems'),
      '--models-dir',
      models,
      '--format',
      'stem',
      '--json',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(JSON.parse(r.stdout).files[0].error.code, 'NOT_AUDIO');
    assert.deepEqual(filesUnder(dir), ['notes.wav']);
  });

  test('a float WAV at 1e30 separates with notices in --json that say the stems clipped', async () => {
    const dir = tempDir('loud');
    const song = join(dir, 'loud.wav');
    const n = 44100;
    const data = Float32Array.from(
      { length: 2 * n },
      (_, i) => 1e30 * Math.sin((2 * Math.PI * 440 * Math.floor(i / 2)) / 44100),
    );
    const h = Buffer.alloc(44);
    h.write('RIFF', 0, 'latin1');
    h.writeUInt32LE(36 + data.byteLength, 4);
    h.write('WAVEfmt ', 8, 'latin1');
    h.writeUInt32LE(16, 16);
    h.writeUInt16LE(3, 20);
    h.writeUInt16LE(2, 22);
    h.writeUInt32LE(44100, 24);
    h.writeUInt32LE(44100 * 8, 28);
    h.writeUInt16LE(8, 32);
    h.writeUInt16LE(32, 34);
    h.write('data', 36, 'latin1');
    h.writeUInt32LE(data.byteLength, 40);
    writeFileSync(song, Buffer.concat([h, Buffer.from(data.buffer)]));
    const r = await runCli(['separate', song, '--out', join(dir, 'out'), '--models-dir', models, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const f = JSON.parse(r.stdout).files[0];
    assert.ok(
      f.notices.some((x: string) => /clipped \d+ samples beyond full scale/.test(x)),
      JSON.stringify(f.notices),
    );
  });

  const modelCases: [BrokenKind, string][] = [
    ['missing-file', 'MODEL_MISSING_FILE'],
    ['corrupt-sha256', 'MODEL_CORRUPT'],
    ['bad-manifest', 'MODEL_BAD_MANIFEST'],
    ['wrong-bins', 'MODEL_BAD_SHAPE'],
    ['probe-shape', 'MODEL_BAD_SHAPE'],
  ];
  for (const [kind, code] of modelCases) {
    test(`a model with ${kind.replace(/-/g, ' ')} is ${code}, and nothing is written`, async () => {
      const { root, id } = brokenModel(kind);
      const out = tempDir('model-out');
      const r = await runCli(['separate', goodSong, '--out', out, '--models-dir', root, '--model', id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`\\[${code}\\]`));
      assert.match(r.stderr, /broken/);
      assert.deepEqual(filesUnder(out), []);
    });
  }

  test('with no model installed, says so and how to get one', async () => {
    const out = tempDir('nomodel-out');
    const r = await runCli(['separate', goodSong, '--out', out]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no separation model is installed/);
    assert.match(r.stderr, /xumx-studio models install xumx-official/);
    assert.deepEqual(filesUnder(out), []);
    const list = await runCli(['models', 'list']);
    assert.match(list.stdout, /no separation model is installed/);
  });

  test('random-weight test networks are never offered without the test switch', async () => {
    const r = await runCli(['models', 'list', '--models-dir', models, '--json'], {
      env: { XUMX_STUDIO_ALLOW_TEST_MODELS: '' },
    });
    assert.deepEqual(JSON.parse(r.stdout).models, []);
  });

  test('an unknown model id names the installed ones', async () => {
    const r = await runCli([
      'separate',
      goodSong,
      '--out',
      tempDir('x'),
      '--models-dir',
      models,
      '--model',
      'nope',
      '--json',
    ]);
    assert.equal(r.code, 1);
    const f = JSON.parse(r.stdout).files[0];
    assert.equal(f.error.code, 'MODEL_NOT_FOUND');
    assert.match(f.error.message, /tiny-test/);
  });
});
