// The CLI starts from the recommended controls a model's manifest carries (default_controls): flags and presets
// override them per source (the neutral value included), --neutral leaves them out, and `models list` shows them.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeModelFolder } from '../../src-main/engine/model/testing/model-folder.ts';
import { makeSong } from '../fixtures/audio.ts';
import { runCli, tempDir } from './helpers/cli.ts';
import { ROOT } from './helpers/models.ts';

const RECOMMENDED = { strength: { vocals: 1.2, bass: 0.8 }, bleed: { other: 0.1 }, wiener_iterations: 2 };
const NEUTRAL = { wienerIterations: 1, softmask: false, residual: false };

describe('xumx-studio with a model that recommends controls', () => {
  let song: string;
  let models: string;

  before(async () => {
    models = tempDir('tuned-models');
    await writeModelFolder(join(models, 'tuned'), { id: 'tuned', manifestPatch: { default_controls: RECOMMENDED } });
    song = join(tempDir('song'), 'song.wav');
    await makeSong(song, { seconds: 2, seed: 5 });
  });

  const separate = async (...flags: string[]) => {
    const run = await runCli(['separate', song, '--out', tempDir('out'), '--models-dir', models, '--json', ...flags]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout).files[0].controls;
  };

  test("separates with the model's controls, and a flag's neutral value for one source overrides only that one", async () => {
    assert.deepEqual(await separate(), {
      wienerIterations: 2,
      softmask: false,
      residual: false,
      strength: { vocals: 1.2, bass: 0.8 },
      bleed: { other: 0.1 },
    });
    assert.deepEqual(await separate('--strength', 'vocals=1', '--preset', 'drumless', '--wiener-iterations', '0'), {
      wienerIterations: 0,
      softmask: false,
      residual: false,
      strength: { bass: 0.8, drums: 0.75 },
      bleed: { other: 0.1 },
    });
  });

  test('--neutral leaves them out', async () => {
    assert.deepEqual(await separate('--neutral', '--bleed', 'vocals=0.2'), { ...NEUTRAL, bleed: { vocals: 0.2 } });
  });

  test('models list says what each model recommends', async () => {
    const json = await runCli(['models', 'list', '--models-dir', models, '--json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout).models[0].defaultControls.strength, { vocals: 1.2, bass: 0.8 });
    const text = await runCli(['models', 'list', '--models-dir', models]);
    assert.match(text.stdout, /strength bass=0\.8,vocals=1\.2; bleed other=0\.1; wiener 2/);
  });

  test('a manifest whose recommended controls the engine refuses is named with the reason', async () => {
    const bad = tempDir('bad-models');
    await writeModelFolder(join(bad, 'bad'), {
      id: 'bad',
      manifestPatch: { default_controls: { strength: { guitar: 2 } } },
    });
    const run = await runCli([
      'separate',
      song,
      '--out',
      tempDir('out'),
      '--models-dir',
      bad,
      '--model',
      'bad',
      '--json',
    ]);
    assert.equal(run.code, 1, run.stderr);
    const { error } = JSON.parse(run.stdout).files[0];
    assert.equal(error.code, 'MODEL_BAD_MANIFEST');
    assert.match(
      error.message,
      /bad[/\\]manifest\.json: field "default_controls": strength: the model has no source "guitar"/,
    );
  });
});

describe('the bundled model', () => {
  test('separates a new song with the controls calibrated for it', async () => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'models', 'xumx-studio-small', 'manifest.json'), 'utf8'));
    const recommended = manifest.default_controls ?? {};
    assert.ok(Object.keys(recommended).length > 0, 'the bundled manifest recommends controls');
    const expected = {
      ...NEUTRAL,
      ...(recommended.wiener_iterations !== undefined ? { wienerIterations: recommended.wiener_iterations } : {}),
      ...(recommended.strength ? { strength: recommended.strength } : {}),
      ...(recommended.bleed ? { bleed: recommended.bleed } : {}),
    };
    const song = join(tempDir('song'), 'song.wav');
    await makeSong(song, { seconds: 2, seed: 6 });
    const args = ['separate', song, '--out', tempDir('out'), '--models-dir', join(ROOT, 'models'), '--json'];
    const run = await runCli(args);
    assert.equal(run.code, 0, run.stderr);
    const { controls } = JSON.parse(run.stdout).files[0];
    assert.deepEqual(controls, expected);
  });
});
