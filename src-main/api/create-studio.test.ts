import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { createStudio, type StudioOptions } from './create-studio.ts';
import { DATA_FOLDER_LOCK } from './data-folder-lock.ts';
import { THIS_HOST } from '../engine/temp-files.ts';
import { endedPid } from '../engine/testing/ended-process.ts';
import { floatWav, testSignal } from '../engine/separate/testing/fakes.ts';
import { canBuildModels, testModel } from '../../test/integration/helpers/models.ts';
import { onReadOnlyDisk } from '../../test/fixtures/read-only-disk.ts';
import { onSmallDisk } from '../../test/fixtures/small-disk.ts';
import type { JobView } from './contract.ts';
import { WEB_DOOR } from './testing/studio.ts';

/** The browser door's options for a studio on `dataDir`, its user models in `<modelsIn>/models`; `extra` adds to them. */
function webStudio(dataDir: string, extra: Partial<StudioOptions> = {}, modelsIn = dataDir): StudioOptions {
  return { capabilities: WEB_DOOR, dataDir, modelDirs: [], userModelsDir: join(modelsIn, 'models'), ...extra };
}

test('a relative default stems folder (as typed after --out) is made absolute, so saving the settings is accepted', async () => {
  const data = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const { service } = await createStudio(webStudio(data, { outputFolder: 'stems' }));
  try {
    const settings = await service.getSettings();
    assert.ok(isAbsolute(settings.outputFolder), settings.outputFolder);
    assert.equal(settings.outputFolder, resolve('stems'));
    // The settings panel sends every field back on save.
    await service.updateSettings({ ...settings, format: 'flac' });
  } finally {
    await service.dispose();
    await rm(data, { recursive: true, force: true });
  }
});

test('refuses a data folder that is a file, naming it, and touches nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const file = join(dir, 'data');
  await writeFile(file, 'not a folder');
  try {
    await assert.rejects(createStudio(webStudio(file, {}, dir)), (e: { code: string; message: string }) => {
      assert.equal(e.code, 'BAD_ARGUMENT');
      assert.equal(
        e.message,
        `${file}: is a file, not a folder (the app keeps its settings and songs' data in a folder)`,
      );
      return true;
    });
    assert.deepEqual(await readdir(dir), ['data']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('refuses a second app on the same data folder before it touches anything there, and gives the folder back on dispose', async () => {
  const data = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const options: StudioOptions = {
    ...webStudio(data, { otherDataFolder: 'XUMX_STUDIO_DATA=DIR' }),
    capabilities: { door: 'electron', nativeDialogs: true, reveal: true, upload: false },
  };
  const first = await createStudio(options);
  try {
    // What a second app would clean up at start if it went ahead: an upload and a dead process's temporary file.
    const upload = join(data, 'uploads', '0123456789abcdef', 'song.wav');
    await mkdir(join(data, 'uploads', '0123456789abcdef'), { recursive: true });
    await writeFile(upload, 'RIFF');
    const temp = join(data, `.settings.json.xumx-${THIS_HOST}-${endedPid()}-0123abcd-89abcdef.partial`);
    await writeFile(temp, '{');
    await assert.rejects(createStudio(options), (e: Error & { code?: string }) => {
      assert.equal(e.code, 'OUTPUT_BUSY');
      assert.match(
        e.message,
        new RegExp(`^${data}: this data folder is in use by another X-UMX Studio \\(process ${process.pid}\\)`),
      );
      assert.match(e.message, /XUMX_STUDIO_DATA=DIR/);
      return true;
    });
    assert.ok(existsSync(upload) && existsSync(temp), 'the refused app removed nothing');
  } finally {
    await first.service.dispose();
  }
  assert.equal(existsSync(join(data, DATA_FOLDER_LOCK)), false, 'the lock goes with the app');
  const next = await createStudio(options);
  assert.equal(existsSync(join(data, 'uploads')), false, "the earlier app's uploads belong to no song now");
  await next.service.dispose();
  await rm(data, { recursive: true, force: true });
});

test('removes what an app that was killed while saving its settings left in the data folder', async () => {
  const data = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const gone = endedPid();
  await writeFile(join(data, `.settings.json.xumx-${THIS_HOST}-${gone}-0123abcd-89abcdef.partial`), '{"settings":');
  const { service } = await createStudio(webStudio(data));
  try {
    assert.deepEqual(
      (await readdir(data)).filter((n) => n.startsWith('.')),
      [],
    );
  } finally {
    await service.dispose();
    await rm(data, { recursive: true, force: true });
  }
});

test('removes the prepared songs a killed app left in the songs folder, and keeps those of an app still running', async () => {
  const data = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const songs = join(data, 'songs');
  await mkdir(songs);
  const left = `.song.wav.xumx-${THIS_HOST}-${endedPid()}-0123abcd-89abcdef.samples`;
  // Another app running beside this one: its song is in use.
  const inUse = `.other.wav.xumx-${THIS_HOST}-${process.ppid}-0123abcd-89abcdef.samples`;
  await writeFile(join(songs, left), 'samples');
  await writeFile(join(songs, inUse), 'samples');
  const { service } = await createStudio(webStudio(data, { songFolder: songs }));
  try {
    assert.deepEqual(await readdir(songs), [inUse]);
  } finally {
    await service.dispose();
    await rm(data, { recursive: true, force: true });
  }
});

test('readies the engine for the first song when the app starts, before any song is added', async () => {
  const data = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const studio = await createStudio(webStudio(data));
  try {
    assert.ok(studio.engineWarm instanceof Promise, 'the engine is warming up');
    await studio.engineWarm;
    assert.deepEqual(await studio.service.listJobs(), []);
  } finally {
    await studio.service.dispose();
    await rm(data, { recursive: true, force: true });
  }
});

test(
  'opens the chosen model when the app starts: its first song goes from its samples to the network without waiting',
  { skip: canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx' },
  async () => {
    const data = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
    const studio = await createStudio(
      webStudio(data, { modelDirs: [testModel().root], allowTestModels: true, outputFolder: join(data, 'stems') }),
    );
    try {
      await studio.engineWarm;
      const song = floatWav(join(data, 'song.wav'), testSignal(44100 * 8), 44100);
      const stages: string[] = [];
      const finished = new Promise<JobView>((done) =>
        studio.service.onEvent((e) => {
          if (e.type !== 'job') return;
          const stage = e.job.progress?.stage;
          if (e.job.state === 'running' && stage && stages.at(-1) !== stage) stages.push(stage);
          if (e.job.state === 'done' || e.job.state === 'failed') done(e.job);
        }),
      );
      await studio.service.open([song]);
      const job = await finished;
      assert.equal(job.state, 'done', job.error?.message);
      const fromSamples = stages.slice(stages.indexOf('stft'));
      assert.deepEqual(fromSamples.slice(0, 2), ['stft', 'network'], stages.join(' → '));
    } finally {
      await studio.service.dispose();
      await rm(data, { recursive: true, force: true });
    }
  },
);

test(
  'starts on a read-only data folder, saying what will not be saved, and separates a song into a writable folder',
  { skip: canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx' },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
    const data = join(dir, 'data');
    await mkdir(data);
    const options = webStudio(
      data,
      { modelDirs: [testModel().root], allowTestModels: true, outputFolder: join(dir, 'stems') },
      dir,
    );
    const song = floatWav(join(dir, 'song.wav'), testSignal(44100 * 4), 44100);
    await onReadOnlyDisk(
      t,
      data,
      async () => {
        // An earlier run left its settings, presets and an upload there.
        const earlier = await createStudio(options);
        await earlier.service.updateSettings({ format: 'flac' });
        await earlier.service.dispose();
        await mkdir(join(data, 'uploads', '0123456789abcdef'), { recursive: true });
        await writeFile(join(data, 'uploads', '0123456789abcdef', 'old.wav'), 'RIFF');
      },
      async () => {
        const studio = await createStudio(options);
        try {
          assert.match(studio.notice ?? '', new RegExp(`${join(data, DATA_FOLDER_LOCK)}: could not be written \\(`));
          assert.equal((await studio.service.getSettings()).format, 'flac', 'the saved settings are read');
          const notices: string[] = [];
          const finished = new Promise<JobView>((done) =>
            studio.service.onEvent((e) => {
              if (e.type === 'notice') notices.push(e.message);
              if (e.type === 'job' && (e.job.state === 'done' || e.job.state === 'failed')) done(e.job);
            }),
          );
          await studio.service.open([song]);
          const job = await finished;
          assert.equal(job.state, 'done', job.error?.message);
          assert.ok(existsSync(join(dir, 'stems', 'song', 'vocals.flac')));
          assert.match(notices.join('\n'), /settings\.json: could not be saved .*song\.wav opened, but not added/);
        } finally {
          await studio.service.dispose();
        }
      },
    );
    await rm(dir, { recursive: true, force: true });
  },
);

test('leaves the uploads alone when it runs without the lock (a full data folder), as another app may be using them', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'xumx-create-studio-'));
  const data = join(dir, 'data');
  await mkdir(data);
  await onSmallDisk(t, data, '64k', async () => {
    const upload = join(data, 'uploads', '0123456789abcdef', 'song.wav');
    await mkdir(join(data, 'uploads', '0123456789abcdef'), { recursive: true });
    await writeFile(upload, 'RIFF');
    await writeFile(join(data, 'filler'), Buffer.alloc(1024 * 1024)).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOSPC') throw e;
    });
    const studio = await createStudio(webStudio(data, {}, dir));
    try {
      assert.match(studio.notice ?? '', /studio\.lock: could not be written \(the disk is full\)/);
      assert.equal(existsSync(upload), true);
    } finally {
      await studio.service.dispose();
    }
  });
  await rm(dir, { recursive: true, force: true });
});
