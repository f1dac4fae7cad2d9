// Where each song's stems land, through both doors that separate (the CLI and the app's service), with the real
// engine and a tiny random-weight X-UMX: a folder name made from a file name never leaves the output folder,
// same-named songs from different folders get folders of their own, and a song separated again gets its own back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createStudio } from '../../src-main/api/create-studio.ts';
import type { StudioService } from '../../src-main/api/service.ts';
import { makeSong } from '../fixtures/audio.ts';
import { runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';
const env = { XUMX_STUDIO_SEGMENTS: '32,4,4' };

/** A one-second song at `dir/name`; `seed` tells songs of the same name apart. */
async function song(dir: string, name: string, seed: number): Promise<string> {
  mkdirSync(dir, { recursive: true });
  await makeSong(join(dir, name), { seconds: 1, sampleRate: 44100, channels: 2, seed });
  return join(dir, name);
}

describe('stem folders through every door', { skip }, () => {
  let models: string;
  let a: string;
  let b: string;
  before(async () => {
    models = testModel().root;
    const inputs = tempDir('same-names');
    a = await song(join(inputs, 'album a'), 'song.wav', 1);
    b = await song(join(inputs, 'album b'), 'song.wav', 2);
  });

  const cli = async (inputs: string[], out: string) => {
    const r = await runCli(['separate', ...inputs, '--out', out, '--models-dir', models, '--ep', 'cpu', '--json'], {
      env,
    });
    return { code: r.code, stderr: r.stderr, files: JSON.parse(r.stdout).files as any[] };
  };

  test('CLI: a file named only dots and an extension writes its stems inside --out', async () => {
    const parent = tempDir('dots');
    const out = join(parent, 'out');
    const dots = await song(tempDir('dots-in'), '...wav', 3);
    const two = await song(tempDir('dots-in'), '..wav', 4);
    const r = await cli([dots, two], out);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(parent), ['out'], 'nothing is written beside --out');
    for (const f of r.files) {
      assert.ok(f.ok, JSON.stringify(f));
      for (const p of Object.values(f.stems) as string[]) {
        assert.equal(dirname(dirname(p)), out, `${f.input}: stem ${p} is not in a folder of --out`);
        assert.doesNotMatch(dirname(p).slice(out.length + 1), /^\./, `${f.input}: hidden stem folder ${p}`);
      }
    }
    assert.notEqual(dirname(r.files[0].stems.vocals), dirname(r.files[1].stems.vocals));
  });

  test('CLI: same-named songs from two folders get "song" and "song (2)"; each one separated again keeps its own', async () => {
    const out = tempDir('cli-same');
    const first = await cli([a, b], out);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(
      first.files.map((f) => dirname(f.stems.vocals)),
      [join(out, 'song'), join(out, 'song (2)')],
    );
    const bStems = readFileSync(join(out, 'song (2)', 'vocals.wav'));
    const again = await cli([a], out);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(dirname(again.files[0].stems.vocals), join(out, 'song'));
    assert.deepEqual(readdirSync(out).sort(), ['song', 'song (2)']);
    assert.ok(readFileSync(join(out, 'song (2)', 'vocals.wav')).equals(bStems), "the other song's stems are untouched");
  });

  describe('app', () => {
    let service: StudioService;
    let out: string;
    let data: string;
    before(async () => {
      data = tempDir('app-data');
      out = tempDir('app-out');
      ({ service } = await createStudio({
        capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
        dataDir: data,
        modelDirs: [models],
        allowTestModels: true,
        outputFolder: out,
      }));
      await service.updateSettings({ ep: 'cpu', format: 'wav', bitDepth: '32f' });
    });
    after(async () => {
      await service?.dispose();
      rmSync(data, { recursive: true, force: true });
    });

    const separate = async (input: string) => {
      const [job] = await service.open([input]);
      await service.idle();
      const done = (await service.listJobs()).find((j) => j.id === job.id)!;
      assert.equal(done.state, 'done', JSON.stringify(done.error));
      return done;
    };

    test('same-named songs from two folders get "song" and "song (2)", and the first still plays its own stems', async () => {
      const ja = await separate(a);
      const aVocals = readFileSync(ja.result!.stemPaths.vocals);
      const jb = await separate(b);
      assert.equal(dirname(ja.result!.stemPaths.vocals), join(out, 'song'));
      assert.equal(dirname(jb.result!.stemPaths.vocals), join(out, 'song (2)'));
      assert.ok(
        readFileSync(service.stemFile(ja.id, 'vocals')).equals(aVocals),
        "the first song's stems were overwritten",
      );
      assert.ok(!readFileSync(service.stemFile(jb.id, 'vocals')).equals(aVocals));
    });

    test('a song opened again is separated into its own folder again', async () => {
      const again = await separate(b);
      assert.equal(dirname(again.result!.stemPaths.vocals), join(out, 'song (2)'));
      assert.deepEqual(readdirSync(out).sort(), ['song', 'song (2)']);
    });
  });
});
