import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SEPARATION_CONTROLS } from '../engine/dsp/controls.ts';
import type { Preset } from '../engine/separate/presets.ts';
import type { SongControls } from './contract.ts';
import { openControlsStore } from './controls-store.ts';
import { SongControlsService } from './song-controls.ts';

const preset = (id: string): Preset => ({
  id,
  name: id,
  controls: { strength: { drums: 1.2 } },
  mute: [],
  gainsDb: {},
  builtIn: false,
});
const quieter: SongControls = {
  controls: { wienerIterations: 1, softmask: false, residual: false, strength: { vocals: 0.5 } },
  presetId: null,
};

async function blockFile(file: string) {
  await mkdir(file);
  await writeFile(join(file, 'keep'), '');
}

describe('controls store', () => {
  test('keeps presets and per-song controls in their own files when both are saved at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const store = await openControlsStore(dir);
    for (let i = 0; i < 20; i++) {
      await Promise.all([store.savePreset(preset(`p${i}`)), store.setSong(`/songs/${i}.wav`, quieter)]);
      const reopened = await openControlsStore(dir);
      assert.deepEqual(reopened.notices, [], `round ${i}`);
      assert.equal(reopened.userPresets().length, i + 1, `round ${i}`);
      assert.deepEqual(reopened.song(`/songs/${i}.wav`), quieter, `round ${i}`);
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('remembers the loop a song was left with and its count-in across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const store = await openControlsStore(dir);
    const practice: SongControls = { ...quieter, loop: { start: 12.5, end: 20, active: true }, countIn: true };
    await store.setSong('/songs/loop.wav', practice);
    await store.setSong('/songs/none.wav', { ...quieter, loop: null, countIn: false });
    const reopened = await openControlsStore(dir);
    assert.deepEqual(reopened.notices, []);
    assert.deepEqual(reopened.song('/songs/loop.wav'), practice);
    assert.equal(reopened.song('/songs/none.wav')?.loop, null);
    await rm(dir, { recursive: true, force: true });
  });

  test("a song's tempo and its named regions saved at the same moment both stay, in either order", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const store = await openControlsStore(dir);
    const service = new SongControlsService({ store } as unknown as ConstructorParameters<
      typeof SongControlsService
    >[0]);
    const song = '/songs/practice.wav';
    const verse = [{ name: 'verse', start: 1, end: 9 }];
    await Promise.all([
      service.setTimePitch(song, { tempo: 1.2, semitones: 0 }, DEFAULT_SEPARATION_CONTROLS),
      service.setRegions(song, verse, DEFAULT_SEPARATION_CONTROLS),
    ]);
    await Promise.all([
      service.setRegions(song, [{ name: 'chorus', start: 10, end: 20 }], DEFAULT_SEPARATION_CONTROLS),
      service.setTimePitch(song, { tempo: 0.8, semitones: 2 }, DEFAULT_SEPARATION_CONTROLS),
    ]);
    const saved = (await openControlsStore(dir)).song(song);
    assert.deepEqual(saved?.timePitch, { tempo: 0.8, semitones: 2 });
    assert.deepEqual(saved?.regions, [{ name: 'chorus', start: 10, end: 20 }]);
    await rm(dir, { recursive: true, force: true });
  });

  test("remembers a song's tempo and key across a restart, and refuses a file with one out of range", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const store = await openControlsStore(dir);
    const practice: SongControls = { ...quieter, timePitch: { tempo: 0.7, semitones: -3 } };
    await store.setSong('/songs/slow.wav', practice);
    assert.deepEqual((await openControlsStore(dir)).song('/songs/slow.wav'), practice);
    await writeFile(
      join(dir, 'song-controls.json'),
      JSON.stringify({ version: 1, songs: { '/s.wav': { ...quieter, timePitch: { tempo: 3, semitones: 0 } } } }),
    );
    const damaged = await openControlsStore(dir);
    assert.equal(damaged.song('/s.wav'), null);
    assert.match(damaged.notices.join('\n'), /tempo must be a number from 0.5 to 1.5/);
    await rm(dir, { recursive: true, force: true });
  });

  test("remembers a song's named regions across a restart, and refuses a file with a region that ends before it starts", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const store = await openControlsStore(dir);
    const marked: SongControls = {
      ...quieter,
      regions: [
        { name: 'verse', start: 12.5, end: 31 },
        { name: 'solo ♪', start: 60, end: 75.25 },
      ],
    };
    await store.setSong('/songs/marked.wav', marked);
    assert.deepEqual((await openControlsStore(dir)).song('/songs/marked.wav'), marked);
    await writeFile(
      join(dir, 'song-controls.json'),
      JSON.stringify({ version: 1, songs: { '/s.wav': { ...quieter, regions: [{ name: 'x', start: 5, end: 2 }] } } }),
    );
    const damaged = await openControlsStore(dir);
    assert.equal(damaged.song('/s.wav'), null);
    assert.match(damaged.notices.join('\n'), /region "x" must start before it ends/);
    await rm(dir, { recursive: true, force: true });
  });

  test('keeps a presets file it cannot load beside it, so saving a preset does not replace the presets in it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    // One preset the controls check refuses (a source name it does not take) beside one it takes.
    const text = JSON.stringify({
      version: 1,
      presets: [preset('mine'), { ...preset('odd'), controls: { strength: { 'Lead Vocals': 1.2 } } }],
    });
    await writeFile(join(dir, 'presets.json'), text);
    const store = await openControlsStore(dir);
    assert.deepEqual(store.userPresets(), []);
    assert.match(store.notices.join('\n'), /presets\.json: .*"Lead Vocals".*kept as .*presets\.unreadable\.json/);
    await store.savePreset(preset('new'));
    assert.equal(await readFile(join(dir, 'presets.unreadable.json'), 'utf8'), text);
    assert.deepEqual(
      (await openControlsStore(dir)).userPresets().map((p) => p.id),
      ['new'],
    );
    // A second file that cannot be loaded does not replace the first one kept.
    await writeFile(join(dir, 'presets.json'), '{');
    const again = await openControlsStore(dir);
    assert.match(again.notices.join('\n'), /kept as .*presets\.unreadable \(2\)\.json/);
    assert.equal(await readFile(join(dir, 'presets.unreadable.json'), 'utf8'), text);
    assert.equal(await readFile(join(dir, 'presets.unreadable (2).json'), 'utf8'), '{');
    await rm(dir, { recursive: true, force: true });
  });

  test("keeps a song-controls file it cannot load beside it, so saving a song's controls does not replace it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const text = JSON.stringify({ version: 1, songs: { '/s.wav': quieter, '/t.wav': { ...quieter, colour: 'red' } } });
    await writeFile(join(dir, 'song-controls.json'), text);
    const store = await openControlsStore(dir);
    assert.equal(store.song('/s.wav'), null);
    assert.match(store.notices.join('\n'), /song-controls\.json: .*kept as .*song-controls\.unreadable\.json/);
    await store.setSong('/u.wav', quieter);
    assert.equal(await readFile(join(dir, 'song-controls.unreadable.json'), 'utf8'), text);
    await rm(dir, { recursive: true, force: true });
  });

  test('keeps presets and songs in memory unchanged when saving them fails, and saves again afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-controls-'));
    const store = await openControlsStore(dir);
    await store.savePreset(preset('kept'));
    await rm(join(dir, 'presets.json'));
    await blockFile(join(dir, 'presets.json'));
    await blockFile(join(dir, 'song-controls.json'));
    await assert.rejects(store.savePreset(preset('lost')));
    await assert.rejects(store.deletePreset('kept'));
    await assert.rejects(store.setSong('/songs/a.wav', quieter));
    assert.deepEqual(
      store.userPresets().map((p) => p.id),
      ['kept'],
    );
    assert.equal(store.song('/songs/a.wav'), null);
    await rm(join(dir, 'presets.json'), { recursive: true });
    await rm(join(dir, 'song-controls.json'), { recursive: true });
    await store.savePreset(preset('second'));
    await store.setSong('/songs/a.wav', quieter);
    const reopened = await openControlsStore(dir);
    assert.deepEqual(
      reopened.userPresets().map((p) => p.id),
      ['kept', 'second'],
    );
    assert.deepEqual(reopened.song('/songs/a.wav'), quieter);
    assert.deepEqual((await readdir(dir)).sort(), ['presets.json', 'song-controls.json']);
    await rm(dir, { recursive: true, force: true });
  });
});
