// A first separation with the estimate cache: the model's session opens while the song is decoded (the two were one
// after the other, and opening the full-size model is the longest step before the first sound), and what the
// separation writes stays what it was with the model opened first.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeFile, decodeStream } from '../audio/decode.ts';
import { createStemWriter } from '../audio/stem-writer.ts';
import { XumxError } from '../errors.ts';
import type { ModelRunner } from '../model/session.ts';
import type { PipelineDeps } from '../separate/pipeline.ts';
import { DspPool } from '../separate/dsp-pool.ts';
import { fakeModel, floatWav, testSignal } from '../separate/testing/fakes.ts';
import type { Stage } from '../types.ts';
import { separateWithCache, type CachedSeparationContext } from './cached-separation.ts';
import { EstimateCache } from './estimate-cache.ts';
import { openFilesUnder } from '../../../test/fixtures/open-files.ts';

const SOURCES = ['bass', 'drums', 'vocals', 'other'];
const SEGMENTS = { segmentFrames: 32, overlapFrames: 4, batch: 3 };
const CONTROLS = { wienerIterations: 1, softmask: false, residual: false };
/** Only there so that the code under test, if it waited for the model before decoding, fails instead of hanging. */
const NEVER_MS = 5000;

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'xumx-cached-separation-'));
  dirs.push(d);
  return d;
};
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const model = () => fakeModel(SOURCES, (j, bin) => [0.1, 0.2, 0.3, 0.4][j] * (1 + (bin % 7) / 10));

/** A first separation (empty cache) of a real WAV file, decoded by the real decoder; `open` stands in for the session. */
function setup(open: (events: { decodeStarted: Promise<void> }) => Promise<ModelRunner>) {
  const dir = tmp();
  const song = floatWav(join(dir, 'song.wav'), testSignal(44100 * 3), 44100);
  const order: string[] = [];
  let started!: () => void;
  const decodeStarted = new Promise<void>((r) => (started = r));
  const deps: PipelineDeps = {
    decode: async (path) => {
      order.push('decode starts');
      started();
      return decodeStream(path);
    },
    createStemWriter,
    songFolder: join(dir, 'songs'),
  };
  const ctx: CachedSeparationContext = {
    cache: new EstimateCache({ dir: join(dir, 'cache') }),
    installed: { manifest: model().manifest, dir, bundled: false },
    openModel: async () => {
      order.push('model opens');
      const m = await open({ decodeStarted });
      order.push('model ready');
      return m;
    },
    segmentsFor: () => SEGMENTS,
    deps,
  };
  const job = { input: song, outDir: join(dir, 'out'), format: 'wav' as const, bitDepth: '32f' as const };
  return { dir, song, order, ctx, deps, job: { ...job, controls: CONTROLS } };
}

describe('separateWithCache, first separation', () => {
  test('decodes the song while the model opens instead of after it', async () => {
    const s = setup(async ({ decodeStarted }) => {
      await Promise.race([decodeStarted, sleep(NEVER_MS)]);
      return model();
    });
    const r = await separateWithCache(s.job, s.ctx);
    assert.equal(r.estimates, 'network');
    assert.deepEqual(s.order, ['model opens', 'decode starts', 'model ready']);
  });

  test('says it is loading the model while a song that is ready waits for it', async () => {
    // The session finishes opening only once the job, its song prepared, says that it waits for it.
    let waiting!: () => void;
    const saidSo = new Promise<void>((r) => (waiting = r));
    const s = setup(async () => {
      await Promise.race([saidSo, sleep(NEVER_MS)]);
      return model();
    });
    const stages: Stage[] = [];
    await separateWithCache(s.job, s.ctx, {
      onProgress: (p) => {
        if (stages.at(-1) !== p.stage) stages.push(p.stage);
        if (p.stage === 'load-model' && stages.includes('stft')) waiting();
      },
    });
    const afterSong = stages.slice(stages.indexOf('stft'));
    assert.deepEqual(afterSong.slice(0, 3), ['stft', 'load-model', 'network'], stages.join(' → '));
  });

  test('writes the same stems as a separation whose model was open before it started', async () => {
    const s = setup(async ({ decodeStarted }) => {
      await Promise.race([decodeStarted, sleep(NEVER_MS)]);
      return model();
    });
    const overlapped = await separateWithCache(s.job, s.ctx);
    const opened = model();
    const plain = await separateWithCache(
      { ...s.job, outDir: join(s.dir, 'plain') },
      { ...s.ctx, cache: new EstimateCache({ dir: join(s.dir, 'cache-plain') }), openModel: async () => opened },
    );
    for (const source of SOURCES) {
      const a = (await decodeFile(overlapped.stems[source])).channels;
      const b = (await decodeFile(plain.stems[source])).channels;
      assert.deepEqual(a, b, source);
    }
  });

  test('fails with the model’s own error when it cannot open while the song decodes, and leaves no stems', async () => {
    const s = setup(async ({ decodeStarted }) => {
      await Promise.race([decodeStarted, sleep(NEVER_MS)]);
      throw new XumxError('MODEL_CORRUPT', 'model "fake": onnxruntime cannot load x.onnx');
    });
    await assert.rejects(separateWithCache(s.job, s.ctx), (e: XumxError) => e.code === 'MODEL_CORRUPT');
    const left = (d: string) => (existsSync(d) ? readdirSync(d) : []);
    assert.deepEqual(left(join(s.dir, 'out')), []);
    assert.deepEqual(left(join(s.dir, 'cache')), []);
  });
});

describe('separateWithCache, cancelled', () => {
  test('a batch the network answers after the job was cancelled opens no cache file, and none is left', async () => {
    // The pipeline stops waiting for the batch in flight when the job is cancelled; the network thread still answers it.
    const cancel = new AbortController();
    let answer!: () => void;
    const answered = new Promise<void>((r) => (answer = r));
    let runs = 0;
    const s = setup(async () =>
      fakeModel(
        SOURCES,
        (j) => j + 1,
        async () => {
          if (++runs !== 2) return;
          cancel.abort();
          await answered;
        },
      ),
    );
    const { cache } = s.ctx;
    const writer = cache.writer.bind(cache);
    const opened: Promise<unknown>[] = [];
    cache.writer = (...args) => {
      const w = writer(...args);
      opened.push(w.catch(() => {}));
      return w;
    };
    await assert.rejects(
      separateWithCache(s.job, s.ctx, { signal: cancel.signal }),
      (e: XumxError) => e.code === 'CANCELLED',
    );
    const before = opened.length;
    answer();
    await new Promise(setImmediate); // the answer's continuations are microtasks: any file would be asked for by now
    assert.equal(opened.length, before, 'a cache file was opened after the job was cancelled');
    await Promise.all(opened);
    const dir = join(s.dir, 'cache');
    assert.deepEqual(readdirSync(dir), []);
    assert.deepEqual(openFilesUnder(dir), []);
  });
});

describe('separateWithCache, re-render', () => {
  const opened = async () => model();

  test('a re-render without DSP threads runs no network and reports no network time', async () => {
    const s = setup(opened);
    const first = await separateWithCache(s.job, s.ctx);
    assert.equal(first.estimates, 'network');
    const again = await separateWithCache(
      { ...s.job, outDir: join(s.dir, 'again'), controls: { ...CONTROLS, strength: { vocals: 1.5 } } },
      { ...s.ctx, openModel: () => Promise.reject(new Error('the network was asked for')) },
    );
    assert.equal(again.estimates, 'cache');
    assert.equal(again.timings.network, 0);
    assert.ok(again.timings.wiener > 0 && again.timings.istft > 0 && again.timings.stft > 0);
  });

  test('a re-render writes the same stems in this thread as on a DSP thread', async () => {
    const s = setup(opened);
    await separateWithCache(s.job, s.ctx);
    const controls = { ...CONTROLS, strength: { vocals: 1.5 }, bleed: { bass: 0.2 } };
    const here = await separateWithCache({ ...s.job, outDir: join(s.dir, 'here'), controls }, s.ctx);
    const pool = new DspPool(1);
    try {
      const there = await separateWithCache(
        { ...s.job, outDir: join(s.dir, 'there'), controls },
        { ...s.ctx, dsp: () => pool },
      );
      assert.equal(here.estimates, 'cache');
      assert.equal(there.estimates, 'cache');
      for (const source of SOURCES) {
        const a = (await decodeFile(here.stems[source])).channels;
        const b = (await decodeFile(there.stems[source])).channels;
        assert.deepEqual(a, b, source);
      }
    } finally {
      await pool.dispose();
    }
  });
});
