// The pipeline measures a song's tempo, beats and key from the stems it writes, once: a known analysis is kept.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStemWriter } from '../audio/stem-writer.ts';
import { clickTrack } from '../analysis/testing/signals.ts';
import type { SongAnalysis } from '../types.ts';
import { separateFile, type PipelineDeps, type PipelineJob } from './pipeline.ts';
import { fakeModel } from './testing/fakes.ts';

const RATE = 44100;

function job(over: Partial<PipelineJob> = {}): PipelineJob {
  return {
    input: '/music/song.wav',
    outDir: mkdtempSync(join(tmpdir(), 'xumx-analysis-')),
    format: 'wav',
    bitDepth: 16,
    controls: { wienerIterations: 0, softmask: false, residual: false },
    segments: { segmentFrames: 256, overlapFrames: 16, batch: 2 },
    ...over,
  };
}

function deps(signal: Float32Array): PipelineDeps {
  return {
    decode: async () => ({ sampleRate: RATE, channels: [signal.slice(), signal.slice()], notices: [] }),
    createStemWriter,
  };
}

const SOURCES = ['bass', 'drums', 'other', 'vocals'];

describe('separateFile analysis', () => {
  test('measures the tempo and beats of the song from the stems it writes', async () => {
    const clicks = clickTrack(100, 4, 20);
    const r = await separateFile(
      job(),
      fakeModel(SOURCES, (j) => [0.3, 0.5, 0.1, 0.1][j]),
      deps(clicks),
    );
    assert.ok(r.analysis, 'a 20-second song is analysed');
    assert.ok(Math.abs(r.analysis.bpm / 100 - 1) < 0.02, `tempo ${r.analysis.bpm}`);
    assert.equal(r.analysis.beatsPerBar, 4);
    assert.ok(r.analysis.beats.length >= 30, `${r.analysis.beats.length} beats`);
  });

  test('keeps an analysis measured before and measures nothing again', async () => {
    const known: SongAnalysis = {
      bpm: 87,
      beats: [0.5, 1.19],
      downbeats: [0.5],
      beatsPerBar: 4,
      key: { tonic: 'F#', mode: 'minor' },
      confidence: { tempo: 0.4, key: 0.7 },
    };
    const clicks = clickTrack(100, 4, 10);
    const r = await separateFile(
      job({ analysis: known }),
      fakeModel(SOURCES, () => 0.25),
      deps(clicks),
    );
    assert.deepEqual(r.analysis, known);
  });

  test('gives no analysis for a song too short to measure', async () => {
    const r = await separateFile(
      job(),
      fakeModel(SOURCES, () => 0.25),
      deps(clickTrack(120, 4, 2)),
    );
    assert.equal(r.analysis, undefined);
  });
});
