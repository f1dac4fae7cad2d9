// A song's tempo, beats and key travel with its result to every door, and a re-render keeps what was measured.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { SongAnalysis } from '../engine/types.ts';
import { fakeStudio } from './testing/studio.ts';

const MEASURED: SongAnalysis = {
  bpm: 123.5,
  beats: [0.12, 0.606, 1.092, 1.578],
  downbeats: [0.12],
  beatsPerBar: 4,
  key: { tonic: 'Bb', mode: 'minor' },
  confidence: { tempo: 0.7, key: 0.85 },
};

describe('StudioService song analysis', () => {
  test('shows the analysis with the finished song and keeps it through a re-render', async () => {
    const { engine, service, done } = await fakeStudio('xumx-service-analysis-');
    engine.analysis = MEASURED;
    const [job] = await service.open(['/songs/a.wav']);
    await service.idle();
    assert.deepEqual((await service.listJobs())[0].result?.analysis, MEASURED);
    engine.analysis = undefined;
    const controls = await service.getSongControls(job.id);
    const view = await service.rerender(job.id, {
      ...controls,
      controls: { ...controls.controls, wienerIterations: 2 },
    });
    assert.deepEqual(view.result?.analysis, MEASURED);
    await service.dispose();
    await done();
  });
});
