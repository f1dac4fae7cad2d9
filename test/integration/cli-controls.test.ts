// The CLI's separation controls end to end: --cache-dir makes a second run with other controls skip the network,
// and that run gives the same stems as a run without any cache (so results are reproducible headless).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeSong } from '../fixtures/audio.ts';
import { runCli, separateOne, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';

describe('xumx-studio separate with controls', { skip }, () => {
  let song: string;
  let models: string;
  let cache: string;

  const separate = (...flags: string[]) => separateOne(song, models, ...flags);
  const maxDiff = (a: Record<string, Float32Array[]>, b: Record<string, Float32Array[]>, source: string) =>
    a[source].reduce((w, ch, c) => ch.reduce((m, v, i) => Math.max(m, Math.abs(v - b[source][c][i])), w), 0);

  before(async () => {
    models = testModel().root;
    song = join(tempDir('song'), 'song.wav');
    await makeSong(song, { seconds: 8, seed: 9 });
    cache = tempDir('cache');
  });

  test('--strength and --bleed re-render from --cache-dir and match a run without a cache', async () => {
    const plain = await separate('--cache-dir', cache);
    assert.equal(plain.file.estimates, 'network');
    const flags = ['--strength', 'vocals=2,drums=0.8', '--bleed', 'bass=0.3'];
    const rerendered = await separate('--cache-dir', cache, ...flags);
    assert.equal(rerendered.file.estimates, 'cache');
    assert.ok(maxDiff(rerendered.stems, plain.stems, 'vocals') > 1e-3, 'the vocal stem changed');
    const uncached = await separate(...flags);
    assert.equal(uncached.file.estimates, undefined);
    for (const s of Object.keys(uncached.stems)) assert.ok(maxDiff(rerendered.stems, uncached.stems, s) <= 1e-4, s);
  });

  test('--preset and --residual re-render from the cache too', async () => {
    const r = await separate('--cache-dir', cache, '--preset', 'karaoke', '--residual');
    assert.equal(r.file.estimates, 'cache');
    assert.deepEqual(Object.keys(r.stems).sort(), ['bass', 'drums', 'other', 'residual', 'vocals']);
  });

  test("refuses a source the model does not have once, before any file is separated, naming the model's sources", async () => {
    const out = join(tempDir('out'), 'stems');
    const run = await runCli([
      'separate',
      song,
      song,
      '--out',
      out,
      '--models-dir',
      models,
      '--ep',
      'cpu',
      '--strength',
      'guitar=2,vocals=1.5',
    ]);
    assert.equal(run.code, 2, run.stderr);
    assert.equal(
      run.stderr,
      'xumx-studio: --strength: the model "tiny-test" has no source "guitar" (its sources: bass, drums, vocals, other)\n' +
        'Run "xumx-studio --help" for usage.\n',
    );
    assert.equal(run.stdout, '');
    assert.equal(existsSync(out), false, 'no file was started');
  });
});
