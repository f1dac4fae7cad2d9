// Re-rendering from the estimate cache, end to end through the job runner with a real (tiny, random-weight) X-UMX:
// a re-render equals a full run with the same controls, neutral controls equal the plain result, the float24 cache
// stays within 1e-4 of unquantized estimates, a damaged cache entry is recomputed, and presets give the mixes
// they promise.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { HEADER_BYTES } from '../../src-main/engine/cache/estimate-file.ts';
import { CACHE_EXT } from '../../src-main/engine/cache/estimate-cache.ts';
import { JobRunner } from '../../src-main/engine/runner.ts';
import { findPreset, presetGains, resolvePreset } from '../../src-main/engine/separate/presets.ts';
import type {
  SeparateRequest,
  SeparationControls,
  SeparationOk,
  SeparationResult,
} from '../../src-main/engine/types.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';
const SEGMENTS = { segmentFrames: 64, overlapFrames: 8, batch: 4 };
const SOURCES = ['bass', 'drums', 'vocals', 'other'];

type Stems = Record<string, Float32Array[]>;

describe('re-rendering from the estimate cache', { skip }, () => {
  let song: string;
  let mixture: Float32Array[];
  let modelDirs: string[];
  const runners: JobRunner[] = [];

  const runner = (cacheDir: string | null) => {
    const r = new JobRunner({
      modelDirs,
      allowTestModels: true,
      threads: 1,
      segments: SEGMENTS,
      ...(cacheDir ? { cache: { dir: cacheDir } } : {}),
    });
    runners.push(r);
    return r;
  };
  const request = (controls: Partial<SeparationControls> = {}): SeparateRequest => ({
    input: song,
    outDir: tempDir('xumx-rerender-out-'),
    format: 'wav',
    bitDepth: '32f',
    controls,
  });
  const ok = (r: SeparationResult): SeparationOk => {
    if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
    return r;
  };
  const stems = async (r: SeparationOk): Promise<Stems> =>
    Object.fromEntries(
      await Promise.all(Object.entries(r.stems).map(async ([s, p]) => [s, (await decodeFile(p)).channels] as const)),
    );
  const maxDiff = (a: Stems, b: Stems) => {
    assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort());
    let worst = 0;
    for (const s of Object.keys(a))
      for (let c = 0; c < 2; c++)
        for (let i = 0; i < a[s][c].length; i++) worst = Math.max(worst, Math.abs(a[s][c][i] - b[s][c][i]));
    return worst;
  };
  const errorDb = (ref: Float32Array[], got: Float32Array[]) => {
    let e = 0,
      p = 0;
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < ref[c].length; i++) {
        e += (ref[c][i] - got[c][i]) ** 2;
        p += ref[c][i] ** 2;
      }
    return 10 * Math.log10(e / p);
  };
  const mix = (s: Stems, gains: Record<string, number>) =>
    [0, 1].map((c) => {
      const out = new Float32Array(mixture[c].length);
      for (const [name, g] of Object.entries(gains)) for (let i = 0; i < out.length; i++) out[i] += g * s[name][c][i];
      return out;
    });

  before(async () => {
    modelDirs = [testModel().root];
    song = join(tempDir('xumx-rerender-song-'), 'song.wav');
    await makeSong(song, { seconds: 12, seed: 5, bitDepth: '32f' });
    mixture = (await decodeFile(song)).channels;
  });
  after(async () => {
    for (const r of runners) await r.dispose();
  });

  test('a re-render with changed controls runs no network and equals a full run with those controls', async () => {
    const cached = runner(tempDir('xumx-cache-'));
    const first = ok(await cached.run(request()));
    assert.equal(first.estimates, 'network');
    const controls = { strength: { vocals: 1.8, drums: 0.6 }, bleed: { bass: 0.3 }, wienerIterations: 2 };
    const again = ok(await cached.run(request(controls)));
    assert.equal(again.estimates, 'cache');
    const full = ok(await runner(tempDir('xumx-cache-')).run(request(controls)));
    assert.equal(full.estimates, 'network');
    const diff = maxDiff(await stems(again), await stems(full));
    assert.ok(diff <= 1e-4, `re-render differs from a full run by ${diff}`);
    assert.ok(maxDiff(await stems(again), await stems(first)) > 1e-3, 'the controls changed the stems');
  });

  test('strength 1 and bleed 0 give exactly the plain result', async () => {
    const r = runner(tempDir('xumx-cache-'));
    const plain = await stems(ok(await r.run(request())));
    const neutral = await stems(ok(await r.run(request({ strength: { vocals: 1, bass: 1 }, bleed: { drums: 0 } }))));
    assert.equal(maxDiff(plain, neutral), 0);
  });

  test('float24 cached estimates stay within 1e-4 of a run on the unrounded network output', async () => {
    const controls = { strength: { vocals: 1.5 } };
    const rounded = await stems(ok(await runner(tempDir('xumx-cache-')).run(request(controls))));
    const exact = await stems(ok(await runner(null).run(request(controls))));
    const diff = maxDiff(rounded, exact);
    assert.ok(diff <= 1e-4, `float24 rounding moved a sample by ${diff}`);
  });

  test('a damaged cache entry is detected, dropped and recomputed, giving the same stems', async () => {
    const dir = tempDir('xumx-cache-');
    const r = runner(dir);
    const reference = await stems(ok(await r.run(request())));
    const [entry] = readdirSync(dir).filter((n) => n.endsWith(CACHE_EXT));
    const bytes = readFileSync(join(dir, entry));
    bytes[HEADER_BYTES + 4096] ^= 0x5a;
    writeFileSync(join(dir, entry), bytes);
    const again = ok(await r.run(request()));
    assert.equal(again.estimates, 'network');
    assert.ok(
      again.notices.some((n) => /checksum mismatch\); separating again/.test(n)),
      again.notices.join('\n'),
    );
    assert.equal(maxDiff(await stems(again), reference), 0);
    assert.equal(ok(await r.run(request())).estimates, 'cache', 'the recomputed entry is cached again');
  });

  test('without a residual stem the stems sum to the song, even with 0 Wiener iterations and strong controls', async () => {
    const r = runner(tempDir('xumx-cache-'));
    const s = await stems(
      ok(await r.run(request({ wienerIterations: 0, strength: { vocals: 2.5 }, bleed: { drums: 0.5 } }))),
    );
    assert.deepEqual(Object.keys(s).sort(), [...SOURCES].sort());
    const db = errorDb(mixture, mix(s, Object.fromEntries(SOURCES.map((n) => [n, 1]))));
    assert.ok(db < -60, `mixture error ${db.toFixed(1)} dB`);
    const withResidual = ok(await r.run(request({ wienerIterations: 0, strength: { vocals: 2.5 }, residual: true })));
    assert.deepEqual(Object.keys(withResidual.stems).sort(), [...SOURCES, 'residual'].sort());
  });

  test('presets give their mixes: karaoke is the song without its vocal stem, practice turns one stem down 12 dB', async () => {
    const r = runner(tempDir('xumx-cache-'));
    for (const id of ['karaoke', 'practice-drums', 'bassless']) {
      const preset = resolvePreset(findPreset(id)!, SOURCES);
      const s = await stems(ok(await r.run(request(preset.controls))));
      const gains = presetGains(preset, SOURCES);
      // Stems sum to the song, so the preset's mix is the song minus (1 - gain) of each changed stem.
      const expected = [0, 1].map((c) =>
        mixture[c].map((v, i) => v - SOURCES.reduce((acc, n) => acc + (1 - gains[n]) * s[n][c][i], 0)),
      );
      const db = errorDb(expected, mix(s, gains));
      assert.ok(db < -60, `${id}: ${db.toFixed(1)} dB`);
    }
    const karaoke = resolvePreset(findPreset('karaoke')!, SOURCES);
    const plain = await stems(ok(await r.run(request())));
    const k = await stems(ok(await r.run(request(karaoke.controls))));
    const energy = (x: Float32Array[]) => x.reduce((a, ch) => a + ch.reduce((b, v) => b + v * v, 0), 0);
    assert.ok(energy(k.vocals) > energy(plain.vocals), 'karaoke lets the vocal stem take more of the song');
  });
});
