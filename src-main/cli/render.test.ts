import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo, SeparationResult } from '../engine/types.ts';
import {
  ProgressLines,
  controlsText,
  formatDuration,
  jsonDocument,
  modelTable,
  progressBar,
  summary,
} from './render.ts';

const ok: SeparationResult = {
  input: 'a.wav',
  ok: true,
  stems: { vocals: '/o/a/vocals.wav' },
  sampleRate: 48000,
  duration: 3.5,
  modelId: 'm',
  ep: 'cpu',
  epSkipped: [{ ep: 'cuda', reason: 'cuda: not installed' }],
  epTimings: [],
  timings: { decode: 1, stft: 2, network: 3, wiener: 4, istft: 5, encode: 6 },
  notices: ['n'],
  controls: { wienerIterations: 1, softmask: false, residual: false },
};

describe('render', () => {
  test('formats durations as m:ss or h:mm:ss', () => {
    assert.equal(formatDuration(7.4), '0:07');
    assert.equal(formatDuration(125), '2:05');
    assert.equal(formatDuration(3725), '1:02:05');
  });

  test('fits the progress bar into the terminal width and shows the ETA', () => {
    const line = progressBar(
      '/a/very/long/path/to/some/song/with/a/long/name.flac',
      { fraction: 0.5, stage: 'network', etaSeconds: 65 },
      80,
    );
    assert.ok(line.length <= 80, `${line.length} columns`);
    assert.match(line, /50% network\s+ETA 1:05$/);
  });

  test('prints a plain progress line only when another tenth is done', () => {
    const lines = new ProgressLines();
    const seen = [0, 0.01, 0.12, 0.15, 0.31, 1].map((f) =>
      lines.next('a.wav', { fraction: f, stage: 'network', etaSeconds: null }),
    );
    assert.deepEqual(
      seen.map((l) => l !== null),
      [true, false, true, false, true, true],
    );
  });

  test('writes the --json document with exactly the published fields', () => {
    const doc = JSON.parse(
      jsonDocument([ok, { input: 'b.wav', ok: false, error: { code: 'NOT_AUDIO', message: 'b.wav: not audio' } }]),
    );
    assert.deepEqual(Object.keys(doc), ['files']);
    assert.deepEqual(Object.keys(doc.files[0]), [
      'input',
      'ok',
      'stems',
      'sampleRate',
      'duration',
      'ep',
      'epSkipped',
      'epTimings',
      'timings',
      'notices',
      'controls',
    ]);
    assert.deepEqual(doc.files[0].notices, ['n'], 'notices reach the JSON document');
    assert.deepEqual(doc.files[0].controls, { wienerIterations: 1, softmask: false, residual: false });
    assert.deepEqual(doc.files[1], {
      input: 'b.wav',
      ok: false,
      error: { code: 'NOT_AUDIO', message: 'b.wav: not audio' },
    });
  });

  test('gives the measured tempo, bars and key in --json and in the text summary', () => {
    const analysis = {
      bpm: 97.46,
      beats: [0.1, 0.716],
      downbeats: [0.1],
      beatsPerBar: 3 as const,
      key: { tonic: 'F#' as const, mode: 'minor' as const },
      confidence: { tempo: 0.62, key: 0.81 },
    };
    const doc = JSON.parse(jsonDocument([{ ...ok, analysis }]));
    assert.deepEqual(doc.files[0].analysis, analysis);
    assert.match(
      summary({ ...ok, analysis }, 1),
      /^  97\.5 BPM · 3\/4 · F# minor \(measured; clarity tempo 62 %, key 81 %\)$/m,
    );
  });

  test('names the preset mix --mix wrote, in --json and in the text summary', () => {
    const withMix = { ...ok, mix: '/o/a/a.karaoke.mix.wav' };
    assert.equal(JSON.parse(jsonDocument([withMix])).files[0].mix, '/o/a/a.karaoke.mix.wav');
    assert.match(summary(withMix, 1), /^  mix: \/o\/a\/a\.karaoke\.mix\.wav$/m);
  });

  test("says the times behind auto's choice of provider", () => {
    const timed: SeparationResult = {
      ...ok,
      epSkipped: [{ ep: 'webgpu', reason: 'webgpu: slower than the CPU on this machine' }],
      epTimings: [
        { ep: 'cpu', batch: 2, frames: 256, seconds: 0.4 },
        { ep: 'webgpu', batch: 32, frames: 64, seconds: 2.7 },
      ],
    };
    const text = summary(timed, 1);
    assert.match(text, /^  timed cpu: 0\.400 s for a network run of 2 × 256 frames$/m);
    assert.match(text, /^  timed webgpu: 2\.700 s for a network run of 32 × 64 frames$/m);
    assert.deepEqual(JSON.parse(jsonDocument([timed])).files[0].epTimings, timed.ok ? timed.epTimings : null);
  });

  test('shows control characters of file names, messages, tags and notices escaped, never raw', () => {
    const name = 'a\x1b[2Jb\rc\x07d\x9be\nf.wav';
    const shown = 'a\\x1b[2Jb\\x0dc\\x07d\\x9be\\x0af.wav';
    const done: SeparationResult = {
      ...ok,
      input: name,
      stems: { vocals: `/o/${name}/vocals.wav` },
      title: 'Title\x1b]0;owned\x07',
      artist: 'Art\x90ist',
      notices: [`${name}: downmixed`],
      epSkipped: [{ ep: 'cuda', reason: 'cuda: \x1b[31mred' }],
    };
    const failed: SeparationResult = {
      input: name,
      ok: false,
      error: { code: 'NOT_AUDIO', message: `${name}: not audio` },
    };
    const texts = [
      summary(done, 1),
      summary(failed, 0),
      summary({ ...failed, error: { code: 'NOT_AUDIO', message: 'no file named' } }, 0),
      progressBar(name, { fraction: 0.5, stage: 'network', etaSeconds: 3 }, 200),
      new ProgressLines().next(name, { fraction: 0.5, stage: 'network', etaSeconds: null })!,
    ];
    for (const text of texts) {
      // Only the line breaks the summary itself puts between its lines may stay.
      assert.doesNotMatch(text, /[\x00-\x09\x0b-\x1f\x7f-\x9f]/, JSON.stringify(text));
      assert.ok(text.includes(shown), JSON.stringify(text));
    }
    assert.match(summary(done, 1), /Title\\x1b\]0;owned\\x07 — Art\\x90ist/);
    assert.match(summary(done, 1), /cuda: \\x1b\[31mred/);
    assert.equal(
      summary(done, 1).split('\n').length,
      summary(ok, 1).split('\n').length + 1,
      'a line break in a name adds no line',
    );
  });

  test("lists each model's recommended controls, and neutral ones as such", () => {
    const neutral = { wienerIterations: 1, softmask: false, residual: false };
    const tuned = { ...neutral, wienerIterations: 2, strength: { vocals: 1.2 }, bleed: { other: 0.1, bass: 0.05 } };
    assert.equal(controlsText(neutral), 'neutral');
    assert.equal(controlsText(tuned), 'strength vocals=1.2; bleed other=0.1,bass=0.05; wiener 2');
    const model = (id: string, defaultControls: typeof neutral) =>
      ({ id, name: id, sources: ['vocals'], license: 'MIT', bundled: true, dir: '/m', defaultControls }) as ModelInfo;
    const table = modelTable([model('plain', neutral), model('tuned', tuned)]).split('\n');
    assert.match(table[0], /DEFAULTS/);
    assert.match(table[1], /neutral/);
    assert.match(table[2], /strength vocals=1\.2; bleed other=0\.1,bass=0\.05; wiener 2/);
  });
});
