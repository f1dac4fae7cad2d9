// A render's waveforms from its listening copy, with the real engine and the bundled model, against its stem files
// through the real decoder: every bucket holds the stem file's extremes over the same frames (within the four
// decimals the peaks travel with); the part read while the song was separated is what the finished copy holds; a
// re-render's peaks are its own stems'.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeFile, decodeStream } from '../../src-main/engine/audio/decode.ts';
import { createStemWriter } from '../../src-main/engine/audio/stem-writer.ts';
import { stemFileFromStemFiles } from '../../src-main/engine/audio/stem-file.ts';
import { smallTestEngine } from './helpers/engine.ts';
import type { JobView, ListenPeaks, SongControls } from '../../src-main/api/contract.ts';
import { computePeaks } from '../../src-main/api/peaks.ts';
import { StudioService } from '../../src-main/api/service.ts';
import { defaultSettings, openSettingsStore } from '../../src-main/api/settings-store.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';

const RATE = 44100;
/** The peaks travel with four decimals, and the stem files are 24-bit. */
const TOLERANCE = 1e-4;

describe("a render's peaks from its listening copy, with the real engine", () => {
  const dir = tempDir('xumx-listen-peaks-it-');
  let service: StudioService;
  let job: JobView;
  /** Peaks asked for while the song was separated, each as far as it was final then. */
  const during: Promise<ListenPeaks | null>[] = [];

  /** Every stem's copy peaks against its stem file's samples over the same frames; the largest difference. */
  async function assertMatchesStems(peaks: ListenPeaks, stems: Record<string, string>, buckets: number) {
    assert.equal(peaks.readyFrames, peaks.frames);
    let worst = 0;
    for (const stem of peaks.stems) {
      const audio = await decodeFile(stems[stem.source]);
      assert.equal(audio.channels[0].length, peaks.frames);
      assert.ok(stem.max.length <= buckets && stem.max.length * peaks.bucketFrames >= peaks.frames);
      for (let b = 0; b < stem.max.length; b++) {
        const own = computePeaks(
          audio.channels.map((ch) => ch.subarray(b * peaks.bucketFrames, (b + 1) * peaks.bucketFrames)),
          1,
        );
        const off = Math.max(Math.abs(stem.max[b] - own.max[0]), Math.abs(stem.min[b] - own.min[0]));
        assert.ok(
          off <= TOLERANCE,
          `${stem.source}, bucket ${b} of ${stem.max.length}: [${stem.min[b]}, ${stem.max[b]}], the file's [${own.min[0]}, ${own.max[0]}]`,
        );
        worst = Math.max(worst, off);
      }
      assert.ok(
        stem.max.some((v) => v > 0.01),
        `${stem.source}: the stem has sound`,
      );
    }
    return worst;
  }

  before(async () => {
    const song = join(dir, 'song.wav');
    await makeSong(song, { seconds: 12, seed: 8, sampleRate: RATE });
    const engine = smallTestEngine(dir);
    const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
    service = new StudioService({
      engine,
      audio: { decodeFile, decodeStream, createStemWriter, stemFileFromStemFiles },
      settings,
      listenDir: join(dir, 'listening'),
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    });
    service.onEvent((e) => {
      if (e.type !== 'job' || e.job.state !== 'running') return;
      const l = e.job.listen;
      if (l && l.readyFrames > 0 && l.readyFrames < l.frames) during.push(service.listenPeaks(e.job.id, 0, 600));
    });
    [job] = await service.open([song]);
    await service.idle();
    job = (await service.listJobs())[0];
    assert.equal(job.state, 'done', job.error?.message);
  });
  after(async () => {
    await service.dispose();
  });

  test("match the stem files' peaks for the bucket counts the editor asks for", async (t) => {
    for (const buckets of [16, 600, 2400]) {
      const peaks = await service.listenPeaks(job.id, 0, buckets);
      assert.ok(peaks, 'the first render is kept');
      const worst = await assertMatchesStems(peaks, job.result!.stemPaths, buckets);
      t.diagnostic(`${buckets} buckets asked for, ${peaks.stems[0].max.length} given: off the files' by ${worst}`);
    }
  });

  test('read while the song was separated, equal the finished copy as far as they were final', async () => {
    const partial = (await Promise.all(during)).filter((p) => p && p.readyFrames < p.frames) as ListenPeaks[];
    assert.ok(partial.length > 0, 'peaks were read while the song was separated');
    const whole = (await service.listenPeaks(job.id, 0, 600))!;
    for (const p of partial) {
      assert.equal(p.bucketFrames, whole.bucketFrames);
      // Buckets the final frames covered whole then: nothing written later changes them.
      const covered = Math.floor(p.readyFrames / p.bucketFrames);
      for (const [k, stem] of p.stems.entries()) {
        assert.deepEqual(stem.max.slice(0, covered), whole.stems[k].max.slice(0, covered), stem.source);
        assert.deepEqual(stem.min.slice(0, covered), whole.stems[k].min.slice(0, covered), stem.source);
        assert.ok(
          stem.max.slice(Math.ceil(p.readyFrames / p.bucketFrames)).every((v) => v === 0),
          `${stem.source}: nothing past what was final`,
        );
      }
    }
  });

  test("of a re-render are its own stems' peaks", async (t) => {
    const changed: SongControls = {
      controls: { wienerIterations: 1, softmask: false, residual: true, strength: { vocals: 1.8, drums: 0.5 } },
      presetId: null,
    };
    const done = await service.rerender(job.id, changed);
    const revision = done.result!.revision!;
    assert.equal(revision, 1);
    const peaks = (await service.listenPeaks(job.id, revision, 600))!;
    assert.deepEqual(
      peaks.stems.map((s) => s.source),
      [...job.result!.sources, 'residual'],
    );
    t.diagnostic(`off the re-render's files by ${await assertMatchesStems(peaks, done.result!.stemPaths, 600)}`);
  });
});
