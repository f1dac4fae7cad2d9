// Listening to renders through the app's service with the real engine and the bundled model: a block of the newest
// re-render asked for before the re-render has written it is rendered on demand from the estimate cache, and equals
// the same frames of the finished re-render's stems and of its listening copy (within 1e-4); the first separation's
// copy equals its stems, and so does a copy dropped over the cap and written again from the stems.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile, decodeStream } from '../../src-main/engine/audio/decode.ts';
import { createStemWriter } from '../../src-main/engine/audio/stem-writer.ts';
import { stemFileFromStemFiles } from '../../src-main/engine/audio/stem-file.ts';
import { smallTestEngine } from './helpers/engine.ts';
import type { JobView, SongControls } from '../../src-main/api/contract.ts';
import type { ListenAnswer } from '../../src-main/api/listen-copies.ts';
import type { EnginePort } from '../../src-main/api/ports.ts';
import { StudioService } from '../../src-main/api/service.ts';
import { defaultSettings, openSettingsStore } from '../../src-main/api/settings-store.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';

const RATE = 48000;
const CHANGED: SongControls = {
  controls: {
    wienerIterations: 1,
    softmask: false,
    residual: true,
    strength: { vocals: 1.8, drums: 0.6 },
    bleed: { bass: 0.3 },
  },
  presetId: null,
};

describe('listening to renders with the real engine', () => {
  const dir = tempDir('xumx-listen-it-');
  let service: StudioService;
  let job: JobView;
  let gate: Promise<void> = Promise.resolve();

  /** A served block's channels, through the real decoder from a real file. */
  const channels = async (answer: ListenAnswer, name: string): Promise<Float32Array[]> => {
    if (answer.kind !== 'audio') assert.fail(`${name}: ${answer.kind}: ${answer.message}`);
    const path = join(dir, `${name}.wav`);
    writeFileSync(path, answer.wav);
    const audio = await decodeFile(path);
    assert.equal(audio.sampleRate, RATE);
    return audio.channels;
  };
  /** The largest difference between a block (stems interleaved in `sources` order) and the stems' files there. */
  const worstAgainstStems = async (
    block: Float32Array[],
    sources: string[],
    stems: Record<string, string>,
    from: number,
  ) => {
    let worst = 0;
    for (const [k, source] of sources.entries()) {
      const stem = (await decodeFile(stems[source])).channels;
      for (const c of [0, 1]) {
        const got = block[2 * k + c];
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - stem[c][from + i]));
      }
    }
    return worst;
  };

  before(async () => {
    const song = join(dir, 'song.wav');
    await makeSong(song, { seconds: 9, seed: 4, sampleRate: RATE, bitDepth: '32f' });
    const real = smallTestEngine(dir);
    // Every separation after the first is a re-render, and waits for the test: its blocks can then only come from
    // rendering on demand.
    let separations = 0;
    const engine: EnginePort = {
      ...real,
      listModels: () => real.listModels(),
      separate: async (r, h) => {
        if (separations++ > 0) await gate;
        return real.separate(r, h);
      },
      renderRegion: (r, g, h) => real.renderRegion(r, g, h),
      dispose: () => real.dispose(),
    };
    const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
    await settings.update({ format: 'wav', bitDepth: '32f' });
    service = new StudioService({
      engine,
      audio: { decodeFile, decodeStream, createStemWriter, stemFileFromStemFiles },
      settings,
      listenDir: join(dir, 'listening'),
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    });
    [job] = await service.open([song]);
    await service.idle();
    job = (await service.listJobs())[0];
    assert.equal(job.state, 'done', job.error?.message);
  });
  after(async () => {
    await service.dispose();
  });

  test("the first separation's copy holds its stems", async () => {
    const listen = job.listen!;
    assert.equal(listen.revision, 0);
    assert.equal(listen.readyFrames, listen.frames);
    const from = Math.round(2.7 * RATE);
    const block = await channels(await service.listen(job.id, '0', String(from), String(2 * RATE)), 'first');
    assert.ok((await worstAgainstStems(block, listen.sources, job.result!.stemPaths, from)) <= 1e-4);
  });

  test("blocks of a re-render rendered on demand equal the finished re-render's stems and copy", async () => {
    let open!: () => void;
    gate = new Promise((r) => {
      open = r;
    });
    const events: JobView[] = [];
    const unsubscribe = service.onEvent((e) => {
      if (e.type === 'job') events.push(e.job);
    });
    const rerender = service.rerender(job.id, CHANGED);
    const listen = events.find((e) => e.rerender?.listen)?.rerender?.listen;
    assert.ok(listen, 'the first event names the new revision');
    assert.deepEqual(listen.sources, [...job.result!.sources, 'residual']);
    const frames = listen.frames;
    // The start, across chunk joins in the middle, and up to the end.
    const parts = [
      [0, RATE],
      [Math.round(3.3 * RATE), Math.round(2.5 * RATE)],
      [frames - RATE, RATE],
    ];
    const onDemand: Float32Array[][] = [];
    for (const [k, [from, n]] of parts.entries())
      onDemand.push(
        await channels(
          await service.listen(job.id, String(listen.revision), String(from), String(n)),
          `on-demand-${k}`,
        ),
      );
    open();
    const done = await rerender;
    unsubscribe();
    assert.equal(done.result?.revision, listen.revision);
    for (const [k, [from, n]] of parts.entries()) {
      assert.equal(onDemand[k][0].length, n);
      const worst = await worstAgainstStems(onDemand[k], listen.sources, done.result!.stemPaths, from);
      assert.ok(worst <= 1e-4, `part ${k} (from frame ${from}) is off the re-render's stems by ${worst}`);
      const copy = await channels(
        await service.listen(job.id, String(listen.revision), String(from), String(n)),
        `copy-${k}`,
      );
      let off = 0;
      copy.forEach((ch, c) =>
        ch.forEach((v, i) => {
          off = Math.max(off, Math.abs(v - onDemand[k][c][i]));
        }),
      );
      assert.ok(off <= 1e-4, `part ${k} is off the finished copy by ${off}`);
    }
  });
});

describe('a listening copy dropped over the cap, with the real engine', () => {
  const dir = tempDir('xumx-listen-cap-it-');
  let service: StudioService;

  after(async () => {
    await service.dispose();
  });

  test('comes back from the stem files, through the real decoder, equal to them', async () => {
    const song = join(dir, 'song.wav');
    await makeSong(song, { seconds: 5, seed: 6, sampleRate: RATE, bitDepth: 16 });
    const engine = smallTestEngine(dir);
    const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
    await settings.update({ format: 'wav', bitDepth: 24 });
    // Nothing fits: a copy stays only while it is written or listened to.
    service = new StudioService({
      engine,
      audio: { decodeFile, decodeStream, createStemWriter, stemFileFromStemFiles },
      settings,
      listenDir: join(dir, 'listening'),
      listenCap: 1,
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    });
    const [job] = await service.open([song]);
    await service.idle();
    const listenOf = async () => (await service.listJobs())[0].listen;
    for (let i = 0; (await listenOf())?.readyFrames !== 0; i++) {
      assert.ok(i < 400, 'the copy nobody listens to is dropped');
      await new Promise((r) => setTimeout(r, 10));
    }
    const done = (await service.listJobs())[0];
    assert.equal(
      (await service.listen(job.id, '0', '0', '10')).kind,
      'not-ready',
      'asked for: written again meanwhile',
    );
    for (let i = 0; (await listenOf())?.readyFrames !== done.listen!.frames; i++) {
      assert.ok(i < 1000, 'the copy comes back');
      await new Promise((r) => setTimeout(r, 10));
    }
    const from = Math.round(1.3 * RATE);
    const answer = await service.listen(job.id, '0', String(from), String(2 * RATE));
    if (answer.kind !== 'audio') assert.fail(`${answer.kind}: ${answer.message}`);
    const path = join(dir, 'block.wav');
    writeFileSync(path, answer.wav);
    const block = (await decodeFile(path)).channels;
    let worst = 0;
    for (const [k, source] of done.listen!.sources.entries()) {
      const stem = (await decodeFile(done.result!.stemPaths[source])).channels;
      for (const c of [0, 1])
        block[2 * k + c].forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - stem[c][from + i]));
        });
    }
    assert.ok(worst <= 1e-4, `off the stems by ${worst}`);
  });
});
