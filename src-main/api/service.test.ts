import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, symlink, writeFile, mkdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { JobView, StudioEvent } from './contract.ts';
import { dispatchCall } from './dispatch.ts';
import type { XumxError } from '../engine/errors.ts';
import { renderTimePitch } from '../engine/dsp/time-pitch.ts';
import { defaultSettings, openSettingsStore } from './settings-store.ts';
import { SOURCES } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';

async function setup() {
  const studio = await fakeStudio('xumx-service-');
  const events: StudioEvent[] = [];
  studio.service.onEvent((e) => events.push(e));
  return { ...studio, events };
}

const states = (events: StudioEvent[], id: string) =>
  events.flatMap((e) => (e.type === 'job' && e.job.id === id ? [e.job.state] : [])).filter((s, i, a) => a[i - 1] !== s);

describe('StudioService', () => {
  test('separates opened songs one after another and reports each state change', async () => {
    const t = await setup();
    const [a, b] = await t.service.open(['/songs/a.wav', '/songs/b.wav']);
    await t.service.idle();
    assert.deepEqual(states(t.events, a.id), ['queued', 'running', 'done']);
    assert.deepEqual(states(t.events, b.id), ['queued', 'running', 'done']);
    const jobs = await t.service.listJobs();
    assert.deepEqual(jobs[0].result?.sources, ['vocals', 'drums', 'bass', 'other']);
    assert.equal(jobs[0].result?.ep, 'cpu');
    assert.equal(jobs[0].result?.epSkipped[0].reason, 'no CUDA device');
    assert.equal(jobs[0].result?.estimates, 'network', 'where the estimates came from, as a re-render says');
    await t.done();
  });

  test('uses the settings of the moment a job starts', async () => {
    const t = await setup();
    await t.service.updateSettings({ ep: 'cpu', format: 'flac', wienerIterations: 0 });
    await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.equal(t.engine.requests[0].ep, 'cpu');
    assert.equal(t.engine.requests[0].format, 'flac');
    assert.equal(t.engine.requests[0].controls?.wienerIterations, 0);
    await t.done();
  });

  test('cancels a running job and a queued one, and a cancelled job can be retried', async () => {
    const t = await setup();
    let release!: () => void;
    t.engine.gate = new Promise((r) => (release = r));
    const [a, b] = await t.service.open(['/songs/a.wav', '/songs/b.wav']);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal((await t.service.listJobs())[0].state, 'running');
    await t.service.cancel(b.id);
    await t.service.cancel(a.id);
    await t.service.idle();
    const [ja, jb] = await t.service.listJobs();
    assert.equal(ja.state, 'cancelled');
    assert.equal(jb.state, 'cancelled');
    assert.equal(t.engine.requests.length, 1, 'the queued job never reached the engine');
    release();
    await t.service.retry(a.id);
    await t.service.idle();
    assert.equal((await t.service.listJobs())[0].state, 'done');
    await t.done();
  });

  test("lets the engine go of a song's prepared samples once no job of it is left that could render it again", async () => {
    const t = await setup();
    const [first] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const [second] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    await t.service.remove(first.id);
    assert.deepEqual(t.engine.released, [], 'the other finished job of the song may still re-render it');
    await t.service.remove(second.id);
    assert.deepEqual(t.engine.released, ['/songs/a.wav'], 'removed');

    await t.service.open(['/songs/bad.txt']);
    await t.service.idle();
    assert.deepEqual(t.engine.released.slice(1), ['/songs/bad.txt'], 'failed');

    let release!: () => void;
    t.engine.gate = new Promise((r) => (release = r));
    const [cancelled, removed] = await t.service.open(['/songs/c.wav', '/songs/d.wav']);
    // Waited for by state, not by time: on a loaded machine the queue may take longer than any fixed wait.
    const reaches = async (id: string, state: JobView['state']) => {
      for (let turn = 0; turn < 500; turn++) {
        if ((await t.service.listJobs()).find((j) => j.id === id)?.state === state) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.fail(`job ${id} never became ${state}`);
    };
    await reaches(cancelled.id, 'running');
    await t.service.cancel(cancelled.id);
    await reaches(removed.id, 'running');
    await t.service.remove(removed.id);
    await t.service.idle();
    release();
    assert.deepEqual(t.engine.released.slice(2), ['/songs/c.wav', '/songs/d.wav'], 'cancelled, removed while running');
    await t.done();
  });

  test('keeps the error of a bad file on its job and goes on with the next', async () => {
    const t = await setup();
    const [bad, good] = await t.service.open(['/songs/notes.txt', '/songs/a.wav']);
    await t.service.idle();
    const jobs = await t.service.listJobs();
    const find = (j: JobView) => jobs.find((x) => x.id === j.id)!;
    assert.equal(find(bad).state, 'failed');
    assert.deepEqual(find(bad).error, { code: 'NOT_AUDIO', message: '/songs/notes.txt: not an audio file' });
    assert.equal(find(good).state, 'done');
    await t.done();
  });

  test('computes min/max peaks of a stem it wrote', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const p = await t.service.peaks(a.id, 'drums', 100);
    assert.equal(p.max.length, 100);
    assert.ok(p.max.every((v) => v === 0.2));
    assert.ok(Math.abs(p.duration - 1000 / 44100) < 1e-9);
    await t.done();
  });

  test('exports the mix with the given gains: muting vocals removes them', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const r = await t.service.exportMix({
      jobId: a.id,
      gains: { vocals: 0, drums: 1, bass: 1, other: 0.5 },
      folder: join(t.dir, 'out'),
      name: 'a (no vocals)',
      format: 'wav',
      bitDepth: '32f',
    });
    assert.deepEqual(r.files, [join(t.dir, 'out', 'a (no vocals).wav')]);
    const mix = t.audio.decodeFile(r.files[0]);
    assert.ok(Math.abs(mix.channels[0][10] - (0.2 + 0.3 + 0.5 * 0.4)) < 1e-6);
    await t.done();
  });

  test('exports the mix and chosen stems at the asked tempo and key, the length divided by the tempo', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const stem = t.audio.decodeFile(Object.values((await t.service.listJobs())[0].result!.stemPaths)[0]);
    const frames = stem.channels[0].length;
    const mix = await t.service.exportMix({
      jobId: a.id,
      gains: { vocals: 1, drums: 1 },
      folder: join(t.dir, 'm'),
      name: 'slow',
      format: 'wav',
      bitDepth: '32f',
      timePitch: { tempo: 0.8, semitones: -2 },
    });
    assert.equal(t.audio.decodeFile(mix.files[0]).channels[0].length, Math.round(frames / 0.8));
    const stems = await t.service.exportStems({
      jobId: a.id,
      sources: ['bass'],
      folder: join(t.dir, 's'),
      format: 'wav',
      bitDepth: '32f',
      timePitch: { tempo: 1.25, semitones: 3 },
    });
    assert.equal(t.audio.decodeFile(stems.files[0]).channels[1].length, Math.round(frames / 1.25));
    await t.done();
  });

  test('stretches each stem and then mixes them, as the player does, so an exported mix sounds like what is heard', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const paths = (await t.service.listJobs())[0].result!.stemPaths;
    let seed = 7;
    const noise = () =>
      Float32Array.from({ length: 6000 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.4);
    for (const p of Object.values(paths)) t.audio.files.set(p, { sampleRate: 44100, channels: [noise(), noise()] });
    const tp = { tempo: 0.7, semitones: 5 };
    const gains = { vocals: 0.5, drums: 1 };
    const mix = await t.service.exportMix({
      jobId: a.id,
      gains,
      folder: join(t.dir, 'm'),
      name: 'practice',
      format: 'wav',
      bitDepth: '32f',
      timePitch: tp,
    });
    const heard = await Promise.all(
      Object.entries(gains).map(async ([s, g]) =>
        (await renderTimePitch(t.audio.decodeFile(paths[s]).channels, 44100, tp)).map((c) => c.map((x) => x * g)),
      ),
    );
    const got = t.audio.decodeFile(mix.files[0]).channels;
    assert.equal(got[0].length, heard[0][0].length);
    let worst = 0;
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < got[c].length; i++)
        worst = Math.max(worst, Math.abs(got[c][i] - (heard[0][c][i] + heard[1][c][i])));
    assert.ok(worst < 1e-5, `the mix differs from the sum of the stretched stems by up to ${worst}`);
    await t.done();
  });

  test('exports the very same samples at tempo 1 and 0 semitones as without a tempo and key', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const req = {
      jobId: a.id,
      gains: { vocals: 0.5, drums: 1 },
      folder: join(t.dir, 'm'),
      format: 'wav',
      bitDepth: '32f',
    } as const;
    const plain = await t.service.exportMix({ ...req, name: 'plain' });
    const neutral = await t.service.exportMix({ ...req, name: 'neutral', timePitch: { tempo: 1, semitones: 0 } });
    assert.deepEqual(t.audio.decodeFile(neutral.files[0]).channels, t.audio.decodeFile(plain.files[0]).channels);
    await t.done();
  });

  test("saves a song's tempo and key with its controls without separating it again", async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const before = t.engine.requests.length;
    const saved = await dispatchCall(t.service, 'setSongTimePitch', [a.id, { tempo: 0.7, semitones: 2 }]);
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.deepEqual((await t.service.getSongControls(a.id)).timePitch, { tempo: 0.7, semitones: 2 });
    assert.equal(t.engine.requests.length, before);
    await t.done();
  });

  test("saves a song's loop selection and count-in with its controls, keeping them through a re-render", async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const loop = { start: 0.005, end: 0.015, active: true };
    const saved = await dispatchCall(t.service, 'setSongLoop', [a.id, loop, true]);
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.deepEqual((await t.service.getSongControls(a.id)).loop, loop);
    assert.equal((await t.service.getSongControls(a.id)).countIn, true);
    const stale = await t.service.getSongControls(a.id);
    await t.service.setSongLoop(a.id, null, false);
    await t.service.rerender(a.id, { ...stale, controls: { ...stale.controls, wienerIterations: 0 } });
    const after = await t.service.getSongControls(a.id);
    assert.equal(after.loop, null, 'not the loop read before the last save');
    assert.equal(after.countIn, false);
    const refused: [unknown[], RegExp][] = [
      [[{ start: 0, end: 5, active: true }, false], /^a\.wav: the loop ends after the song/],
      [[{ start: 0.01, end: 0.005, active: true }, false], /^a\.wav: the loop must start before it ends/],
      [[{ start: 0, end: 0.01, active: 'yes' }, false], /^a\.wav: the loop's active must be true or false/],
      [[{ start: 0, end: 0.01, active: true, name: 'x' }, false], /^a\.wav: the loop has an unknown field "name"/],
      [[null, 'no'], /^a\.wav: count-in must be true or false/],
    ];
    for (const [args, message] of refused) {
      const r = await dispatchCall(t.service, 'setSongLoop', [a.id, ...args]);
      assert.equal(r.ok, false, JSON.stringify(args));
      if (!r.ok) assert.match(r.error.message, message);
    }
    assert.equal((await t.service.getSongControls(a.id)).loop, null, 'nothing refused was saved');
    await t.done();
  });

  test("saves a song's named regions with its controls, keeping them through a re-render", async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const regions = [
      { name: 'intro', start: 0, end: 0.01 },
      { name: 'outro', start: 0.015, end: 0.02 },
    ];
    const saved = await dispatchCall(t.service, 'setSongRegions', [a.id, regions]);
    assert.equal(saved.ok, true, JSON.stringify(saved));
    assert.deepEqual((await t.service.getSongControls(a.id)).regions, regions);
    const { controls } = await t.service.getSongControls(a.id);
    await t.service.rerender(a.id, { controls: { ...controls, wienerIterations: 0 }, presetId: null });
    assert.deepEqual(
      (await t.service.getSongControls(a.id)).regions,
      regions,
      'new separation controls keep the regions',
    );
    // The separation panel sends back the controls it read when the song was opened, regions and all.
    const stale = await t.service.getSongControls(a.id);
    await t.service.setSongRegions(a.id, regions.slice(1));
    await t.service.rerender(a.id, { ...stale, controls: { ...controls, wienerIterations: 1 } });
    assert.deepEqual(
      (await t.service.getSongControls(a.id)).regions,
      regions.slice(1),
      'not the regions read before the last save',
    );
    await t.done();
  });

  test('refuses named regions that are not names, end after the song (naming it), or are too many', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const cases: [unknown, RegExp][] = [
      [
        [{ name: 'chorus', start: 0, end: 5 }],
        /a\.wav: region "chorus" ends after the song \(at 5 s, the song lasts 0\.0\d+ s\)/,
      ],
      [[{ name: '', start: 0, end: 0.01 }], /^a\.wav: region names must be 1 to 60 printable characters/],
      [[{ name: 'bell\u0007', start: 0, end: 0.01 }], /^a\.wav: region names must be 1 to 60 printable characters/],
      [[{ name: 'x'.repeat(61), start: 0, end: 0.01 }], /^a\.wav: region names must be 1 to 60 printable characters/],
      [[{ name: 'back', start: 0.01, end: 0.005 }], /^a\.wav: region "back" must start before it ends/],
      [[{ name: 'early', start: -1, end: 0.01 }], /^a\.wav: region "early" must start at 0 s or later/],
      [
        Array.from({ length: 51 }, (_, i) => ({ name: `r${i}`, start: 0, end: 0.01 })),
        /^a\.wav: a song has at most 50 regions/,
      ],
      [[{ name: 'extra', start: 0, end: 0.01, color: 'red' }], /^a\.wav: region has an unknown field "color"/],
      ['verse', /^a\.wav: regions must be a list/],
    ];
    for (const [regions, message] of cases) {
      const r = await dispatchCall(t.service, 'setSongRegions', [a.id, regions]);
      assert.equal(r.ok, false, JSON.stringify(regions).slice(0, 80));
      if (!r.ok) {
        assert.equal(r.error.code, 'BAD_ARGUMENT');
        assert.match(r.error.message, message);
      }
    }
    assert.equal((await t.service.getSongControls(a.id)).regions, undefined, 'nothing saved');
    await t.done();
  });

  test('exports chosen stems under the song name', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const r = await t.service.exportStems({
      jobId: a.id,
      sources: ['bass', 'vocals'],
      folder: join(t.dir, 'x'),
      format: 'flac',
      bitDepth: 16,
    });
    assert.deepEqual(r.files, [join(t.dir, 'x', 'a - bass.flac'), join(t.dir, 'x', 'a - vocals.flac')]);
    assert.equal(t.audio.decodeFile(r.files[0]).channels[0][0], Math.fround(0.3));
    await t.done();
  });

  test('exports every stem as one stem file named after the song, ALAC at the chosen depth', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const r = await t.service.exportStemFile({ jobId: a.id, folder: join(t.dir, 'dj'), codec: 'alac', bitDepth: 24 });
    assert.deepEqual(r.files, [join(t.dir, 'dj', 'a.stem.mp4')]);
    const written = t.audio.stemFiles.get(r.files[0])!;
    assert.deepEqual(Object.keys(written.stemFiles).sort(), [...SOURCES].sort());
    assert.equal(written.stemFiles.bass, (await t.service.listJobs())[0].result!.stemPaths.bass);
    assert.deepEqual(written.opts.codec, { name: 'alac', bitDepth: 24 });
    await assert.rejects(
      t.service.exportStemFile({ jobId: 'nope', folder: join(t.dir, 'dj3'), codec: 'aac', bitDepth: 16 }),
    );
    const aac = await t.service.exportStemFile({ jobId: a.id, folder: join(t.dir, 'dj2'), codec: 'aac', bitDepth: 16 });
    assert.deepEqual(t.audio.stemFiles.get(aac.files[0])!.opts.codec, { name: 'aac', bitRate: 256_000 });
    await t.done();
  });

  test('names the folder when an export cannot create it', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    const blocker = join(t.dir, 'a-file');
    await writeFile(blocker, 'x');
    await assert.rejects(
      t.service.exportStems({
        jobId: a.id,
        sources: ['bass'],
        folder: join(blocker, 'sub'),
        format: 'wav',
        bitDepth: 16,
      }),
      (e: { code: string; message: string }) =>
        e.code === 'OUTPUT_NOT_WRITABLE' && e.message.includes(join(blocker, 'sub')),
    );
    // The folder itself a file, and a name too long for the file system: the reason in words, not the system's.
    for (const [folder, reason] of [
      [blocker, /a file with that name is in the way/],
      [join(t.dir, 'x'.repeat(300)), /the name is too long for this file system/],
    ] as const)
      await assert.rejects(
        t.service.exportStems({ jobId: a.id, sources: ['bass'], folder, format: 'wav', bitDepth: 16 }),
        (e: { code: string; message: string }) => {
          assert.equal(e.code, 'OUTPUT_NOT_WRITABLE');
          assert.match(e.message, reason);
          assert.doesNotMatch(e.message, /EEXIST|ENAMETOOLONG|mkdir/);
          return true;
        },
      );
    await t.done();
  });

  test('serves only stems the app wrote, never other paths', async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    assert.match(t.service.stemFile(a.id, 'vocals'), /vocals\.wav$/);
    assert.throws(() => t.service.stemFile(a.id, 'piano'), /no stem "piano"/);
    assert.throws(() => t.service.stemFile('nope', 'vocals'), /no song with id/);
    await t.done();
  });

  test('opens the songs inside a folder and ignores other files', async () => {
    const t = await setup();
    const folder = join(t.dir, 'album');
    await mkdir(join(folder, 'disc2'), { recursive: true });
    for (const f of ['02.flac', '01.wav', 'cover.jpg', 'disc2/03.mp3']) await writeFile(join(folder, f), '');
    const jobs = await t.service.open([folder]);
    assert.deepEqual(
      jobs.map((j) => j.name),
      ['01.wav', '02.flac', '03.mp3'],
    );
    assert.deepEqual(await t.service.recentFiles(), [folder]);
    await t.service.idle();
    await t.done();
  });

  test('a folder without songs is FILE_NOT_FOUND naming it, and nothing is queued or remembered', async () => {
    const t = await setup();
    const folder = join(t.dir, 'photos');
    await mkdir(join(folder, 'trip'), { recursive: true });
    await writeFile(join(folder, 'trip', 'a.jpg'), '');
    await assert.rejects(
      t.service.open([folder]),
      (e: XumxError) =>
        e.code === 'FILE_NOT_FOUND' && e.message.startsWith(`${folder}: the folder holds no audio files`),
    );
    assert.deepEqual(await t.service.listJobs(), []);
    assert.deepEqual(await t.service.recentFiles(), []);
    await t.done();
  });

  test('opens each song of a folder once when the folder holds a link to its parent', async () => {
    const t = await setup();
    const folder = join(t.dir, 'album');
    await mkdir(folder);
    for (let i = 1; i <= 6; i++) await writeFile(join(folder, `song${i}.wav`), '');
    await symlink('..', join(folder, 'parent'));
    const jobs = await t.service.open([folder]);
    assert.deepEqual(
      jobs.map((j) => j.input),
      [1, 2, 3, 4, 5, 6].map((i) => join(folder, `song${i}.wav`)),
    );
    await t.service.idle();
    await t.done();
  });

  test('opens a song once when it is named directly and through its folder, or its folder is named twice', async () => {
    const t = await setup();
    const folder = join(t.dir, 'album');
    await mkdir(folder);
    for (let i = 1; i <= 3; i++) await writeFile(join(folder, `song${i}.wav`), '');
    const jobs = await t.service.open([join(folder, 'song2.wav'), folder, folder]);
    assert.deepEqual(
      jobs.map((j) => j.input).sort(),
      [1, 2, 3].map((i) => join(folder, `song${i}.wav`)),
    );
    await t.service.idle();
    await t.done();
  });

  test('persists settings as JSON and reads them back', async () => {
    const t = await setup();
    await t.service.updateSettings({ ep: 'webgpu', bitDepth: 16 });
    const file = JSON.parse(await readFile(join(t.dir, 'settings.json'), 'utf8'));
    assert.equal(file.settings.ep, 'webgpu');
    const again = await openSettingsStore(join(t.dir, 'settings.json'), defaultSettings('/x'));
    assert.equal(again.get().bitDepth, 16);
    assert.equal(again.notice, null);
    await t.done();
  });

  test('falls back to defaults with a notice when the settings file is damaged', async () => {
    const t = await setup();
    await writeFile(join(t.dir, 'bad.json'), '{ not json');
    const s = await openSettingsStore(join(t.dir, 'bad.json'), defaultSettings('/x'));
    assert.equal(s.get().ep, 'auto');
    assert.match(s.notice ?? '', /bad\.json: could not be read/);
    await t.done();
  });
});

describe('dispatchCall', () => {
  test('turns bad arguments into BAD_ARGUMENT errors without calling the service', async () => {
    const t = await setup();
    const cases: [string, unknown][] = [
      ['open', ['not a list']],
      ['open', [[]]],
      ['open', [['/a\0b']]],
      ['cancel', ['../../etc']],
      ['peaks', ['abc', 'vocals', 1e9]],
      ['updateSettings', [{ ep: 'tpu' }]],
      ['updateSettings', [{ evil: 1 }]],
      [
        'exportMix',
        [{ jobId: 'a', gains: { vocals: Infinity }, folder: '/x', name: 'm', format: 'wav', bitDepth: 16 }],
      ],
      [
        'exportMix',
        [{ jobId: 'a', gains: { vocals: 1 }, folder: '/x', name: '../escape', format: 'wav', bitDepth: 16 }],
      ],
      ['exportStemFile', [{ jobId: 'a', folder: '/x', codec: 'mp3', bitDepth: 16 }]],
      [
        'exportMix',
        [
          {
            jobId: 'a',
            gains: { vocals: 1 },
            folder: '/x',
            name: 'm',
            format: 'wav',
            bitDepth: 16,
            timePitch: { tempo: 0.2, semitones: 0 },
          },
        ],
      ],
      [
        'exportStems',
        [
          {
            jobId: 'a',
            sources: ['bass'],
            folder: '/x',
            format: 'wav',
            bitDepth: 16,
            timePitch: { tempo: 1, semitones: 0.5 },
          },
        ],
      ],
      ['setSongTimePitch', ['a', { tempo: 1, semitones: 24 }]],
      ['setSongTimePitch', ['a', { tempo: 1 }]],
      ['exportStemFile', [{ jobId: 'a', folder: '/x', codec: 'aac', bitDepth: 16, name: '../x' }]],
      ['constructor', []],
      ['listJobs', 'x'],
    ];
    for (const [m, args] of cases) {
      const r = await dispatchCall(t.service, m, args);
      assert.equal(r.ok, false, `${m} ${JSON.stringify(args)} should fail`);
      if (!r.ok) assert.equal(r.error.code, 'BAD_ARGUMENT');
    }
    assert.equal(t.engine.requests.length, 0);
    await t.done();
  });

  test('returns the value of a good call', async () => {
    const t = await setup();
    const r = await dispatchCall(t.service, 'getSettings', []);
    assert.equal(r.ok, true);
    if (r.ok) assert.equal((r.value as { ep: string }).ep, 'auto');
    await t.done();
  });
});

describe('export targets', () => {
  const done = async () => {
    const t = await setup();
    const [a] = await t.service.open(['/songs/a.wav']);
    await t.service.idle();
    return { t, a };
  };
  const failsWith =
    (code: string, ...words: string[]) =>
    (e: { code: string; message: string }) => {
      assert.equal(e.code, code, e.message);
      for (const w of words) assert.ok(e.message.includes(w), `"${e.message}" does not name ${w}`);
      return true;
    };
  const outcomeCode = (r: Awaited<ReturnType<typeof dispatchCall>>) => (r.ok ? 'ok' : r.error.code);

  test('refuses a mix name that is nothing but dots and spaces, and writes no hidden file', async () => {
    const { t, a } = await done();
    const folder = join(t.dir, 'mixes');
    for (const name of [' ..', '..', ' . ', '.hidden', 'mix/..', 'CON', 'nul']) {
      const r = await dispatchCall(t.service, 'exportMix', [
        { jobId: a.id, gains: { vocals: 1 }, folder, name, format: 'wav', bitDepth: 16 },
      ]);
      assert.equal(outcomeCode(r), name === '.hidden' ? 'ok' : 'BAD_ARGUMENT', `name ${JSON.stringify(name)}`);
    }
    assert.deepEqual(
      [...t.audio.files.keys()].filter((p) => p.startsWith(folder)),
      [join(folder, 'hidden.wav')],
    );
    await t.done();
  });

  test('trims a mix name to a visible file name', async () => {
    const { t, a } = await done();
    const r = await dispatchCall(t.service, 'exportMix', [
      {
        jobId: a.id,
        gains: { vocals: 1 },
        folder: join(t.dir, 'm'),
        name: ' .. my mix. ',
        format: 'wav',
        bitDepth: 16,
      },
    ]);
    assert.ok(r.ok);
    assert.deepEqual((r.value as { files: string[] }).files, [join(t.dir, 'm', 'my mix.wav')]);
    await t.done();
  });

  test('refuses a relative export folder and names it', async () => {
    const { t, a } = await done();
    const folder = relative(process.cwd(), join(t.dir, 'relative-exports'));
    const calls: [string, unknown][] = [
      ['exportStems', { jobId: a.id, sources: ['bass'], folder, format: 'wav', bitDepth: 16 }],
      ['exportMix', { jobId: a.id, gains: { bass: 1 }, folder, name: 'm', format: 'wav', bitDepth: 16 }],
      ['exportStemFile', { jobId: a.id, folder, codec: 'aac', bitDepth: 16 }],
      ['updateSettings', { outputFolder: folder }],
    ];
    for (const [method, req] of calls) {
      const r = await dispatchCall(t.service, method, [req]);
      assert.equal(outcomeCode(r), 'BAD_ARGUMENT', method);
      if (!r.ok) assert.ok(r.error.message.includes(folder), `${method}: ${r.error.message}`);
    }
    assert.ok(!existsSync(join(t.dir, 'relative-exports')));
    await t.done();
  });

  test('refuses to replace an exported mix unless asked to overwrite', async () => {
    const { t, a } = await done();
    const folder = join(t.dir, 'mixes');
    const file = join(folder, 'a mix.wav');
    await mkdir(folder);
    await writeFile(file, 'an earlier export');
    const req = {
      jobId: a.id,
      gains: { vocals: 1 },
      folder,
      name: 'a mix',
      format: 'wav' as const,
      bitDepth: '32f' as const,
    };
    await assert.rejects(t.service.exportMix(req), failsWith('OUTPUT_EXISTS', file));
    assert.equal(await readFile(file, 'utf8'), 'an earlier export');
    assert.ok(!t.audio.files.has(file));
    const r = await dispatchCall(t.service, 'exportMix', [{ ...req, overwrite: true }]);
    assert.ok(r.ok);
    assert.equal(t.audio.decodeFile(file).channels[0][0], Math.fround(0.1));
    await t.done();
  });

  test('refuses to replace any exported stem unless asked to overwrite, and then writes none of them', async () => {
    const { t, a } = await done();
    const folder = join(t.dir, 'stems-out');
    const bass = join(folder, 'a - bass.wav');
    await mkdir(folder);
    await writeFile(bass, 'an earlier export');
    const both = { jobId: a.id, sources: ['vocals', 'bass'], folder, format: 'wav' as const, bitDepth: 16 as const };
    await assert.rejects(t.service.exportStems(both), failsWith('OUTPUT_EXISTS', bass));
    assert.ok(!t.audio.files.has(join(folder, 'a - vocals.wav')), 'no stem is written when one would replace a file');
    const r = await dispatchCall(t.service, 'exportStems', [{ ...both, overwrite: true }]);
    assert.ok(r.ok);
    assert.deepEqual((r.value as { files: string[] }).files, [join(folder, 'a - vocals.wav'), bass]);
    await t.done();
  });

  test('refuses to replace an exported stem file unless asked to overwrite', async () => {
    const { t, a } = await done();
    const folder = join(t.dir, 'dj');
    await mkdir(folder);
    await writeFile(join(folder, 'a.stem.mp4'), 'an earlier export');
    const req = { jobId: a.id, folder, codec: 'aac' as const, bitDepth: 16 as const };
    await assert.rejects(t.service.exportStemFile(req), failsWith('OUTPUT_EXISTS', join(folder, 'a.stem.mp4')));
    assert.equal(t.audio.stemFiles.size, 0);
    assert.ok((await dispatchCall(t.service, 'exportStemFile', [{ ...req, overwrite: true }])).ok);
    assert.equal(t.audio.stemFiles.size, 1);
    await t.done();
  });

  test('names exports after the visible song name of a file named with leading dots', async () => {
    const t = await setup();
    const [j] = await t.service.open(['/songs/...wav']);
    await t.service.idle();
    const stems = await t.service.exportStems({
      jobId: j.id,
      sources: ['bass'],
      folder: join(t.dir, 'x'),
      format: 'wav',
      bitDepth: 16,
    });
    const stemFile = await t.service.exportStemFile({
      jobId: j.id,
      folder: join(t.dir, 'x'),
      codec: 'aac',
      bitDepth: 16,
    });
    assert.deepEqual(
      [...stems.files, ...stemFile.files],
      [join(t.dir, 'x', 'wav - bass.wav'), join(t.dir, 'x', 'wav.stem.mp4')],
    );
    await t.done();
  });
});
