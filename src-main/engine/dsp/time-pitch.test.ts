import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isBypassed, renderTimePitch, stretchedLength, timePitchProblem, TimePitchStream } from './time-pitch.ts';
import { centsBetween, peakFrequency, rms, sine } from './testing/pitch.ts';

const SR = 44100;
const stereo = (x: Float32Array) => [x, x.map((v) => v * 0.5)];

/** The middle second of a signal: away from the edges, where the stretcher starts and ends. */
const middle = (x: Float32Array) => x.subarray(Math.floor(x.length / 2 - SR / 2), Math.floor(x.length / 2 + SR / 2));

describe('time and pitch', () => {
  it('returns the very same samples at tempo 1 and 0 semitones', async () => {
    const input = stereo(sine(440, SR, SR));
    const out = await renderTimePitch(input, SR, { tempo: 1, semitones: 0 });
    assert.equal(out[0], input[0]);
    assert.equal(out[1], input[1]);
    const stream = await TimePitchStream.create(2, SR, { tempo: 1, semitones: 0 });
    assert.equal(stream.process(input)[0], input[0]);
    assert.equal(stream.finish()[0].length, 0);
    assert.ok(
      isBypassed({ tempo: 1, semitones: 0 }) &&
        !isBypassed({ tempo: 1, semitones: 1 }) &&
        !isBypassed({ tempo: 0.9, semitones: 0 }),
    );
  });

  for (const semitones of [-12, -2, 1, 7, 12]) {
    it(`moves a 440 Hz sine by ${semitones} semitones within 3 cents, keeping its length and level`, async () => {
      const input = stereo(sine(440, SR, 3 * SR));
      const [left, right] = await renderTimePitch(input, SR, { tempo: 1, semitones });
      assert.equal(left.length, input[0].length);
      const expected = 440 * 2 ** (semitones / 12);
      const f = peakFrequency(middle(left), SR, expected * 0.9, expected * 1.1);
      assert.ok(
        Math.abs(centsBetween(f, expected)) < 3,
        `${f.toFixed(3)} Hz is ${centsBetween(f, expected).toFixed(2)} cents from ${expected.toFixed(3)} Hz`,
      );
      const levelDb = 20 * Math.log10(rms(middle(left)) / rms(middle(input[0])));
      assert.ok(Math.abs(levelDb) < 1, `level changed by ${levelDb.toFixed(2)} dB`);
      assert.ok(rms(middle(right)) < rms(middle(left)) * 0.6, 'channels stay apart');
    });
  }

  for (const tempo of [0.5, 0.8, 1.25, 1.5]) {
    it(`keeps the pitch of a sine at ${tempo * 100} % tempo and scales its length to the frame`, async () => {
      const input = stereo(sine(330, SR, 3 * SR + 17));
      const [left] = await renderTimePitch(input, SR, { tempo, semitones: 0 });
      assert.equal(left.length, Math.round(input[0].length / tempo));
      const f = peakFrequency(middle(left), SR, 300, 360);
      assert.ok(
        Math.abs(centsBetween(f, 330)) < 3,
        `${f.toFixed(3)} Hz is ${centsBetween(f, 330).toFixed(2)} cents from 330 Hz`,
      );
    });
  }

  it('changes tempo and key together', async () => {
    const [left] = await renderTimePitch(stereo(sine(440, SR, 3 * SR)), SR, { tempo: 0.7, semitones: -3 });
    assert.equal(left.length, stretchedLength(3 * SR, 0.7));
    const expected = 440 * 2 ** (-3 / 12);
    assert.ok(Math.abs(centsBetween(peakFrequency(middle(left), SR, 350, 400), expected)) < 3);
  });

  it('puts a tone burst where the tempo says, with the stretcher latency taken out', async () => {
    const x = new Float32Array(4 * SR);
    const at = 2 * SR;
    for (let i = 0; i < x.length; i++)
      x[i] = Math.exp(-(((i - at) / 2000) ** 2)) * Math.sin((2 * Math.PI * 500 * i) / SR);
    for (const tempo of [0.5, 1.5]) {
      const [y] = await renderTimePitch([x], SR, { tempo, semitones: 2 });
      const hop = 256; // envelope: energy per hop
      let best = 0,
        where = 0;
      for (let i = 0; i + hop <= y.length; i += hop / 4) {
        const e = rms(y.subarray(i, i + hop));
        if (e > best) [best, where] = [e, i + hop / 2];
      }
      const errorMs = ((where - at / tempo) / SR) * 1000;
      assert.ok(Math.abs(errorMs) < 5, `burst at tempo ${tempo} is ${errorMs.toFixed(1)} ms off`);
    }
  });

  it('streams any chunk sizes into exactly the stretched length, also for a song of a few frames', async () => {
    for (const [frames, tempo, chunk] of [
      [1, 0.5, 1],
      [7, 1.5, 3],
      [10_001, 0.8, 333],
      [50_000, 1.37, 4096],
    ] as const) {
      const stream = await TimePitchStream.create(2, SR, { tempo, semitones: -5 });
      const x = sine(220, SR, frames);
      let total = 0;
      for (let at = 0; at < frames; at += chunk)
        total += stream.process([x.subarray(at, at + chunk), x.subarray(at, at + chunk)])[0].length;
      total += stream.finish()[0].length;
      assert.equal(total, stretchedLength(frames, tempo), `${frames} frames at tempo ${tempo}`);
    }
  });

  it('names the allowed ranges when tempo or semitones are out of them', () => {
    assert.equal(timePitchProblem({ tempo: 0.5, semitones: -12 }), null);
    assert.equal(timePitchProblem({ tempo: 1.5, semitones: 12 }), null);
    assert.match(timePitchProblem({ tempo: 0.49, semitones: 0 })!, /tempo must be a number from 0.5 to 1.5/);
    assert.match(timePitchProblem({ tempo: Number.NaN, semitones: 0 })!, /tempo/);
    assert.match(timePitchProblem({ tempo: 1, semitones: 13 })!, /semitones must be a whole number from -12 to 12/);
    assert.match(timePitchProblem({ tempo: 1, semitones: 0.5 })!, /semitones/);
  });
});
