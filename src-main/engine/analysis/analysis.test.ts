// The analysis on signals whose tempo, bars and key are known by construction: synthetic clicks and chords (fast),
// and the generated mma/fluidsynth test set (test/fixtures/tempo-key-songs.ts, rendered once into test-output/).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile } from '../audio/decode.ts';
import { analyzeMix, analyzeSong, toAnalysisRate } from './index.ts';
import { PITCH_CLASSES } from './key.ts';
import { Decimator } from './decimate.ts';
import {
  TEST_SET,
  canRenderSongs,
  eventFMeasure,
  knownBeats,
  knownDownbeats,
  renderSong,
} from '../../../test/fixtures/tempo-key-songs.ts';

import { clickTrack } from './testing/signals.ts';

const RATE = 44100;

/** Triads as sines, one per bar of two seconds: the pitch classes of the progression and nothing else. */
function chordSong(chords: number[][], seconds: number): Float32Array {
  const x = new Float32Array(Math.round(seconds * RATE));
  const bar = 2 * RATE;
  for (let i = 0; i < x.length; i++) {
    const notes = chords[Math.floor(i / bar) % chords.length];
    for (const midi of notes) x[i] += 0.1 * Math.sin((2 * Math.PI * 440 * 2 ** ((midi - 69) / 12) * i) / RATE);
  }
  return x;
}

describe('song analysis', () => {
  it('finds the tempo and the beats of a click track', () => {
    const clicks = clickTrack(100, 4, 30);
    const a = analyzeMix([clicks, clicks], RATE);
    assert.ok(a, 'a 30-second click track is long enough to measure');
    assert.ok(Math.abs(a.bpm / 100 - 1) < 0.02, `tempo ${a.bpm}`);
    const grid = Array.from({ length: 50 }, (_, k) => 0.25 + (k * 60) / 100);
    assert.ok(eventFMeasure(a.beats, grid) >= 0.95, `beats ${a.beats.slice(0, 6).join(', ')}…`);
  });

  it('puts the bars on the accented beats, in four or in three', () => {
    for (const beatsPerBar of [4, 3] as const) {
      const clicks = clickTrack(120, beatsPerBar, 30, 0.5);
      const a = analyzeMix([clicks], RATE)!;
      assert.equal(a.beatsPerBar, beatsPerBar);
      const bars = Array.from({ length: 60 / beatsPerBar }, (_, k) => 0.5 + k * beatsPerBar * 0.5);
      assert.ok(
        eventFMeasure(a.downbeats, bars) >= 0.9,
        `${beatsPerBar}/4 downbeats ${a.downbeats.slice(0, 4).join(', ')}…`,
      );
    }
  });

  it('names the key of a chord progression, major and minor', () => {
    // A minor: Am Dm E Am; E-flat major: Eb Ab Bb Eb.
    const minor = chordSong(
      [
        [57, 60, 64],
        [62, 65, 69],
        [64, 68, 71],
        [57, 60, 64],
      ],
      16,
    );
    const major = chordSong(
      [
        [63, 67, 70],
        [68, 72, 75],
        [70, 74, 77],
        [63, 67, 70],
      ],
      16,
    );
    const clicks = clickTrack(120, 4, 16);
    for (const [song, tonic, mode] of [
      [minor, 'A', 'minor'],
      [major, 'Eb', 'major'],
    ] as const) {
      const a = analyzeSong({ rhythm: toAnalysisRate([clicks], RATE), harmony: toAnalysisRate([song], RATE) })!;
      assert.deepEqual(a.key, { tonic, mode });
      assert.ok(a.confidence.key > 0.5, `key confidence ${a.confidence.key}`);
    }
  });

  it('decimates a song that comes in pieces exactly as the whole song', () => {
    const clicks = clickTrack(100, 4, 7);
    const whole = toAnalysisRate([clicks], RATE);
    const pieces = new Decimator(RATE);
    for (let at = 0; at < clicks.length; at += 30_011) pieces.push([clicks.subarray(at, at + 30_011)]);
    const got = pieces.finish();
    assert.equal(got.rate, whole.rate);
    assert.deepEqual(got.samples, whole.samples);
  });

  it('measures nothing in a song too short to hold a tempo', () => {
    const clicks = clickTrack(120, 4, 3);
    assert.equal(analyzeMix([clicks], RATE), null);
  });

  it(
    'measures tempo within 2 %, beats within 50 ms, meter and key on generated songs of known tempo and key',
    { skip: canRenderSongs() ? false : 'needs mma, fluidsynth and a GM soundfont' },
    async () => {
      const misses: string[] = [];
      let tempoRight = 0,
        beatsRight = 0,
        keyRight = 0,
        meterRight = 0;
      for (const spec of TEST_SET) {
        const song = renderSong(spec);
        const audio = await decodeFile(song.path);
        const a = analyzeMix(audio.channels, audio.sampleRate);
        const name = `${spec.style} ${spec.bpm} BPM`;
        if (!a) {
          misses.push(`${name}: nothing measured`);
          continue;
        }
        // An octave error (half or double the tempo) is a wrong tempo here.
        if (Math.abs(a.bpm / spec.bpm - 1) <= 0.02) tempoRight++;
        else misses.push(`${name}: ${a.bpm} BPM`);
        const beatF = eventFMeasure(a.beats, knownBeats(song));
        if (beatF >= 0.9) beatsRight++;
        else misses.push(`${name}: beat F ${beatF.toFixed(2)}`);
        if (a.beatsPerBar === spec.beatsPerBar && eventFMeasure(a.downbeats, knownDownbeats(song)) >= 0.9) meterRight++;
        else misses.push(`${name}: bars of ${a.beatsPerBar} at ${a.downbeats.slice(0, 2).join(', ')}`);
        if (a.key && PITCH_CLASSES.indexOf(a.key.tonic) === spec.tonic && a.key.mode === spec.mode) keyRight++;
        else misses.push(`${name}: key ${a.key?.tonic} ${a.key?.mode}`);
      }
      const n = TEST_SET.length;
      // Measured on this set: 20 of 22 tempos (two octave errors), 20 beat tracks, 20 bar grids, 21 keys.
      assert.ok(tempoRight >= 0.85 * n, `tempo right on ${tempoRight}/${n}: ${misses.join('; ')}`);
      assert.ok(beatsRight >= 0.85 * n, `beats right on ${beatsRight}/${n}: ${misses.join('; ')}`);
      assert.ok(meterRight >= 0.85 * n, `bars right on ${meterRight}/${n}: ${misses.join('; ')}`);
      assert.ok(keyRight >= 0.85 * n, `key right on ${keyRight}/${n}: ${misses.join('; ')}`);
    },
  );
});
