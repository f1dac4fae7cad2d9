// A song's analysis is measured once: the first separation measures it and keeps it beside the estimate cache
// entry; a re-render with other controls answers with the kept analysis instead of measuring again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { JobRunner } from '../../src-main/engine/runner.ts';
import type { SeparationOk, SeparationResult, SongAnalysis } from '../../src-main/engine/types.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = canBuildModels() ? false : 'needs /usr/bin/python3 with torch and onnx';

describe('song analysis with the estimate cache', { skip }, () => {
  let song: string;
  let runner: JobRunner;
  const cacheDir = tempDir('xumx-analysis-cache-');
  const ok = (r: SeparationResult): SeparationOk => {
    if (!r.ok) assert.fail(`${r.error.code}: ${r.error.message}`);
    return r;
  };
  const run = (strength: number) =>
    runner.run({
      input: song,
      outDir: tempDir('xumx-analysis-out-'),
      format: 'wav',
      bitDepth: 16,
      controls: { strength: { vocals: strength } },
    });

  before(async () => {
    song = join(tempDir('xumx-analysis-song-'), 'song.wav');
    await makeSong(song, { seconds: 10, seed: 3 });
    runner = new JobRunner({
      modelDirs: [testModel().root],
      allowTestModels: true,
      threads: 1,
      segments: { segmentFrames: 64, overlapFrames: 8, batch: 4 },
      cache: { dir: cacheDir },
    });
  });
  after(() => runner.dispose());

  test('measures the song once and answers re-renders with the analysis kept beside its estimates', async () => {
    const first = ok(await run(1));
    assert.ok(first.analysis && first.analysis.bpm > 0, 'the first separation measures the song');
    const kept = readdirSync(cacheDir).filter((n) => n.endsWith('.analysis.json'));
    assert.equal(kept.length, 1, `cache folder: ${readdirSync(cacheDir).join(', ')}`);
    // What the cache holds is what a re-render answers with: a changed file shows it was read, not measured again.
    const marked: SongAnalysis = { ...first.analysis, bpm: first.analysis.bpm + 1 };
    writeFileSync(join(cacheDir, kept[0]), JSON.stringify(marked));
    const again = ok(await run(1.5));
    assert.equal(again.estimates, 'cache');
    assert.deepEqual(again.analysis, marked);
  });
});
