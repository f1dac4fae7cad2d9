// A part of a song rendered on its own from the estimate cache (or through the network, for a song the cache does not
// hold) equals the same part of a full re-render with the same
// controls (the player swaps it in at the playhead before the full re-render is done): at the song's start, in the
// middle across chunk joins, at its end, at 44.1 kHz and at 48 kHz (resampled back like the stems), with the
// residual stem, on the DSP threads and in the job's thread. Through the job runner with a real tiny X-UMX.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, utimesSync, watch } from 'node:fs';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { createEngine } from '../../src-main/engine/index.ts';
import { defaultDeps, JobRunner, type RunnerOptions } from '../../src-main/engine/runner.ts';
import { EstimateCache, estimateKey, hashFile } from '../../src-main/engine/cache/estimate-cache.ts';
import { loadDspKernels } from '../../src-main/engine/dsp/kernels/index.ts';
import { controlsForModel } from '../../src-main/engine/dsp/controls.ts';
import { pickModel, scanModels } from '../../src-main/engine/model/registry.ts';
import { ChunkRenderer, type DspRenderer } from '../../src-main/engine/separate/chunk-renderer.ts';
import { preparedSong } from '../../src-main/engine/separate/pipeline.ts';
import { KeptChunks, renderRegion } from '../../src-main/engine/separate/region.ts';
import type {
  RegionOk,
  RegionResult,
  SeparateRequest,
  SeparationControls,
  SeparationOk,
  SeparationResult,
} from '../../src-main/engine/types.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';
// Short chunks (64 frames ≈ 1.5 s, 8 overlapping) so a 12-second song has eight chunk joins to get right.
const SEGMENTS = { segmentFrames: 64, overlapFrames: 8, batch: 4 };
const CONTROLS: Partial<SeparationControls> = {
  strength: { vocals: 1.8, drums: 0.6 },
  bleed: { bass: 0.3 },
  wienerIterations: 2,
};

describe('rendering a part of a song on its own', { skip }, () => {
  let modelDirs: string[];
  const runners: JobRunner[] = [];
  const songs: Record<number, string> = {};

  /** A runner on the tiny model with its own estimate cache; `o` adds to or replaces its options. */
  const runner = (o: Partial<RunnerOptions> = {}) => {
    const r = new JobRunner({
      modelDirs,
      allowTestModels: true,
      threads: 1,
      segments: SEGMENTS,
      cache: { dir: tempDir('xumx-region-cache-') },
      ...o,
    });
    runners.push(r);
    return r;
  };
  const request = (input: string, controls: Partial<SeparationControls> = {}): SeparateRequest => ({
    input,
    outDir: tempDir('xumx-region-out-'),
    format: 'wav',
    bitDepth: '32f',
    controls,
  });
  const ok = (r: SeparationResult): SeparationOk => {
    if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
    return r;
  };
  const part = (r: RegionResult): RegionOk => {
    if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
    return r;
  };
  /** The largest difference between the part and the full render's stems over the same samples. */
  const worstDiff = async (
    full: SeparationOk,
    region: Pick<RegionOk, 'stems' | 'start' | 'frames'>,
  ): Promise<number> => {
    assert.deepEqual(Object.keys(region.stems), Object.keys(full.stems));
    let worst = 0;
    for (const [stem, path] of Object.entries(full.stems)) {
      const whole = (await decodeFile(path)).channels;
      for (let c = 0; c < 2; c++) {
        const got = region.stems[stem][c];
        assert.equal(got.length, region.frames);
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - whole[c][region.start + i]));
      }
    }
    return worst;
  };

  before(async () => {
    modelDirs = [testModel().root];
    for (const rate of [44100, 48000]) {
      songs[rate] = join(tempDir('xumx-region-song-'), `song-${rate}.wav`);
      await makeSong(songs[rate], { seconds: 12, seed: 9, sampleRate: rate, bitDepth: '32f' });
    }
  });
  after(async () => {
    for (const r of runners) await r.dispose();
  });

  for (const rate of [44100, 48000]) {
    test(`at ${rate / 1000} kHz, parts at the start, across chunk joins and at the end equal the full re-render's samples`, async () => {
      const r = runner();
      ok(await r.run(request(songs[rate])));
      const full = ok(await r.run(request(songs[rate], CONTROLS)));
      assert.equal(full.estimates, 'cache');
      const length = Math.round(12 * rate);
      const parts: [number, number][] = [
        [0, rate],
        [Math.round(3.37 * rate), 4 * rate],
        [length - Math.round(2.5 * rate), 3 * rate],
      ];
      for (const [start, frames] of parts) {
        const region = part(await r.renderRegion(request(songs[rate], CONTROLS), { start, frames }));
        assert.equal(region.sampleRate, rate);
        assert.equal(region.start, start);
        assert.equal(region.frames, Math.min(frames, length - start), "cut to the song's end");
        const diff = await worstDiff(full, region);
        assert.ok(diff <= 1e-4, `part at ${start} differs by ${diff}`);
      }
    });
  }

  for (const rate of [8000, 384000, 44056]) {
    test(`at ${rate} Hz (${rate === 44056 ? 'through libsamplerate' : 'polyphase'}), parts in the middle and ending on the song's last samples equal the full re-render's`, async () => {
      const r = runner();
      const path = join(tempDir('xumx-region-song-'), `song-${rate}.wav`);
      await makeSong(path, { seconds: 6, seed: 4, sampleRate: rate, bitDepth: '32f' });
      ok(await r.run(request(path)));
      const full = ok(await r.run(request(path, CONTROLS)));
      const length = Math.round(6 * rate);
      for (const [start, frames] of [
        [Math.round(2.71 * rate), rate],
        [length - 3, 10],
        [length - 1, 1],
      ]) {
        const region = part(await r.renderRegion(request(path, CONTROLS), { start, frames }));
        assert.equal(region.frames, Math.min(frames, length - start));
        const diff = await worstDiff(full, region);
        assert.ok(diff <= 1e-4, `part at ${start} differs by ${diff}`);
      }
    });
  }

  test("with the residual stem, rendered in the job's own thread", async () => {
    const r = runner({ dspThreads: 0 });
    const controls = { ...CONTROLS, residual: true };
    ok(await r.run(request(songs[44100])));
    const full = ok(await r.run(request(songs[44100], controls)));
    const region = part(await r.renderRegion(request(songs[44100], controls), { start: 100_000, frames: 150_000 }));
    assert.ok(Object.keys(region.stems).includes('residual'));
    const diff = await worstDiff(full, region);
    assert.ok(diff <= 1e-4, `differs by ${diff}`);
  });

  test('other controls give other samples (the part follows the controls it is asked for)', async () => {
    const r = runner();
    ok(await r.run(request(songs[44100])));
    const a = part(await r.renderRegion(request(songs[44100]), { start: 200_000, frames: 44_100 }));
    const b = part(await r.renderRegion(request(songs[44100], CONTROLS), { start: 200_000, frames: 44_100 }));
    let diff = 0;
    for (let i = 0; i < a.frames; i++) diff = Math.max(diff, Math.abs(a.stems.vocals[0][i] - b.stems.vocals[0][i]));
    assert.ok(diff > 1e-3, `the vocals did not change (${diff})`);
  });

  test("through the engine's worker, asked while the song's re-render runs, the part equals that re-render", async () => {
    const engine = createEngine({
      modelDirs,
      allowTestModels: true,
      threads: 1,
      segments: SEGMENTS,
      cache: { dir: tempDir('xumx-region-cache-') },
    });
    try {
      ok(await engine.separate(request(songs[48000])));
      const rerendering = engine.separate(request(songs[48000], CONTROLS));
      const region = part(
        await engine.renderRegion(request(songs[48000], CONTROLS), { start: 240_000, frames: 96_000 }),
      );
      const full = ok(await rerendering);
      const diff = await worstDiff(full, region);
      assert.ok(diff <= 1e-4, `differs by ${diff}`);
    } finally {
      await engine.dispose();
    }
  });

  test("a song whose estimates outgrow the cache's cap is not kept at all, the result says so, and its parts run the network", async () => {
    const cacheDir = tempDir('xumx-region-cap-');
    const r = runner({ cache: { dir: cacheDir, maxBytes: 20e6 } });
    // Known to be too large from its length: not a byte of it is written (not even up to the cap, then removed).
    const written: string[] = [];
    const watcher = watch(cacheDir, { recursive: true }, (_, name) => void (name && written.push(name)));
    const first = ok(await r.run(request(songs[44100])));
    watcher.close();
    assert.deepEqual(written, [], 'nothing written in the cache folder');
    assert.equal(first.estimates, 'network');
    assert.ok(
      first.notices.some((n) =>
        /^estimates not kept: this song's take 0\.\d\d GiB, more than the estimate cache's 0\.02 GiB; .*separates it again, the part being listened to first \(this separation took \d+ s\)$/.test(
          n,
        ),
      ),
      JSON.stringify(first.notices),
    );
    assert.deepEqual(readdirSync(cacheDir), [], 'nothing left in the cache folder');
    const full = ok(await r.run(request(songs[44100], CONTROLS)));
    assert.equal(full.estimates, 'network');
    // Its parts run the network on their own chunks: the samples the re-render wrote there, at the start, across
    // chunk joins and at the end, asked out of order.
    const length = 12 * 44100;
    for (const [start, frames] of [
      [Math.round(7.3 * 44100), 2 * 44100],
      [0, 44100],
      [length - 30_000, 44100],
      [Math.round(7.9 * 44100), 44100],
    ]) {
      const region = part(await r.renderRegion(request(songs[44100], CONTROLS), { start, frames }));
      const diff = await worstDiff(full, region);
      assert.ok(diff <= 1e-4, `part at ${start} differs from the re-render by ${diff}`);
    }
    // At 48 kHz too (resampled back like the stems).
    const full48 = ok(await r.run(request(songs[48000], CONTROLS)));
    assert.equal(full48.estimates, 'network');
    const region48 = part(await r.renderRegion(request(songs[48000], CONTROLS), { start: 250_000, frames: 96_000 }));
    const diff48 = await worstDiff(full48, region48);
    assert.ok(diff48 <= 1e-4, `part at 48 kHz differs from the re-render by ${diff48}`);
    assert.deepEqual(readdirSync(cacheDir), [], 'parts write nothing in the cache folder');
  });

  test('blocks asked one after another are joined from the chunks kept from the block before, and equal blocks rendered afresh', async () => {
    const cacheDir = tempDir('xumx-region-kept-');
    const r = runner({ cache: { dir: cacheDir } });
    const path = songs[44100];
    ok(await r.run(request(path)));
    const full = ok(await r.run(request(path, CONTROLS)));
    const installed = pickModel(await scanModels(modelDirs, { allowTestModels: true }), undefined, modelDirs);
    const { manifest } = installed;
    const key = estimateKey({ inputSha256: await hashFile(path), modelSha256: manifest.sha256 });
    const reader = (await new EstimateCache({ dir: cacheDir }).lookup(key, {}))!;
    const song = await preparedSong(path, defaultDeps, undefined);
    const here = new ChunkRenderer(await loadDspKernels());
    let rendered = 0;
    const counting: DspRenderer = {
      size: 1,
      render: (task, times) => {
        rendered++;
        return here.render(task, times);
      },
    };
    const part = (start: number, frames: number, kept?: KeptChunks) =>
      renderRegion({
        input: path,
        song,
        source: { kind: 'cache', reader },
        sources: manifest.sources,
        controls: controlsForModel(CONTROLS, manifest),
        region: { start, frames },
        dsp: counting,
        ...(kept ? { kept } : {}),
      });
    try {
      const kept = new KeptChunks();
      const news: number[] = [];
      // Half-second blocks through chunks of about 1.5 s.
      for (let b = 0; b < 10; b++) {
        const start = 100_000 + b * 22_050;
        const before = rendered;
        const block = await part(start, 22_050, kept);
        news.push(rendered - before);
        const diff = await worstDiff(full, block);
        assert.ok(diff <= 1e-4, `block ${b} differs from the full re-render by ${diff}`);
        const fresh = await part(start, 22_050);
        assert.deepEqual(block.stems, fresh.stems, `block ${b} differs from the same block rendered afresh`);
      }
      assert.ok(
        news.filter((n) => n === 0).length >= 5,
        `chunks rendered anew per block: ${news.join(' ')} (most blocks lie in the chunks of the one before)`,
      );
      // A longer part back over the kept chunks: those it renders first push the kept ones out before it joins them.
      const long = await part(40_000, 300_000, kept);
      const diff = await worstDiff(full, long);
      assert.ok(diff <= 1e-4, `the longer part differs from the full re-render by ${diff}`);
    } finally {
      await song.song.release();
      await reader.close();
    }
  });

  test("a part asked after the song's file changed is not rendered from what was kept for the old file", async () => {
    const r = runner();
    const path = join(tempDir('xumx-region-song-'), 'changing.wav');
    await makeSong(path, { seconds: 6, seed: 5, sampleRate: 44100, bitDepth: '32f' });
    ok(await r.run(request(path)));
    part(await r.renderRegion(request(path, CONTROLS), { start: 10_000, frames: 20_000 }));
    await makeSong(path, { seconds: 6, seed: 6, sampleRate: 44100, bitDepth: '32f' });
    utimesSync(path, new Date(), new Date(Date.now() + 5000));
    const after = part(await r.renderRegion(request(path, CONTROLS), { start: 10_000, frames: 20_000 }));
    // Not separated yet, the new file's part runs the network on it: the samples its separation then writes.
    const full = ok(await r.run(request(path, CONTROLS)));
    assert.equal(full.estimates, 'network');
    const diff = await worstDiff(full, after);
    assert.ok(diff <= 1e-4, `the part differs from the new file's separation by ${diff}`);
  });

  test('a song let go (removed from the app) leaves no prepared samples held for its parts', async () => {
    const songFolder = tempDir('xumx-region-songs-');
    const r = runner({ songFolder });
    ok(await r.run(request(songs[44100])));
    part(await r.renderRegion(request(songs[44100], CONTROLS), { start: 0, frames: 20_000 }));
    assert.equal(readdirSync(songFolder).length, 1);
    await r.releaseSong(songs[44100]);
    assert.deepEqual(readdirSync(songFolder), [], 'the prepared song is removed');
  });

  test('a bad part is BAD_ARGUMENT; an engine without an estimate cache answers NOT_CACHED, naming the song', async () => {
    const r = runner();
    const bad = await r.renderRegion(request(songs[48000]), { start: -1, frames: 1000 });
    assert.equal(bad.ok ? '' : bad.error.code, 'BAD_ARGUMENT');
    const none = new JobRunner({ modelDirs, allowTestModels: true, threads: 1, segments: SEGMENTS });
    runners.push(none);
    const uncached = await none.renderRegion(request(songs[44100]), { start: 0, frames: 1000 });
    assert.equal(uncached.ok ? '' : uncached.error.code, 'NOT_CACHED');
    assert.match(uncached.ok ? '' : uncached.error.message, /song-44100\.wav/);
  });
});
