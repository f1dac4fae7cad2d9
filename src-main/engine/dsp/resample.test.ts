import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { XumxError } from '../errors.ts';
import { SUPPORTED_SAMPLE_RATES } from '../audio/sample-rates.ts';
import { resample, createResampler } from './resample.ts';

/** Exponential sine sweep from f0 to f1 Hz over `seconds`, sampled analytically at `rate`. */
function sweep(rate: number, seconds: number, f0: number, f1: number, amplitude = 0.5): Float32Array {
  const n = Math.round(rate * seconds);
  const k = Math.log(f1 / f0) / seconds;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amplitude * Math.sin((2 * Math.PI * f0 * (Math.exp((k * i) / rate) - 1)) / k);
  return out;
}

/** SNR of `got` against `ref`, leaving out `edge` samples at both ends (where the sweep starts and stops). */
function snrDb(ref: Float32Array, got: Float32Array, edge: number): number {
  let s = 0,
    e = 0;
  for (let i = edge; i < ref.length - edge; i++) {
    s += ref[i] * ref[i];
    e += (got[i] - ref[i]) ** 2;
  }
  return 10 * Math.log10(s / e);
}

describe('resample', () => {
  test('returns the input unchanged when the rates are equal', async () => {
    const ch = [new Float32Array([1, 2, 3])];
    const out = await resample(ch, 44100, 44100);
    assert.equal(out[0], ch[0]);
  });

  test('gives exactly round(len * to / from) samples per channel', async () => {
    for (const [len, from, to] of [
      [48000, 48000, 44100],
      [12345, 48000, 44100],
      [1001, 22050, 44100],
      [7, 96000, 44100],
      [0, 48000, 44100],
      [44101, 44100, 48000],
    ]) {
      const out = await resample([new Float32Array(len), new Float32Array(len)], from, to);
      assert.equal(out.length, 2);
      for (const c of out) assert.equal(c.length, Math.round((len * to) / from), `${len} samples ${from} -> ${to}`);
    }
  });

  // The sweeps run 20 Hz to 20 kHz (10 kHz from 22.05 kHz); the SNR counts only the part of the sweep below the
  // converter's band edge: 85% of the lower Nyquist frequency for 'medium' (its response starts to roll off
  // above), 95% for 'best'. Measured on 8 s sweeps with 'medium': 48k 95.7 dB, 22.05k 95.2 dB, 96k 95.7 dB
  // (126 dB below 80% of Nyquist); 'best', 48k to 20 kHz: 144.9 dB.
  for (const [from, f1, quality, seconds, minSnr] of [
    [48000, 20000, 'medium', 4, 90],
    [22050, 10000, 'medium', 4, 90],
    [96000, 20000, 'medium', 4, 90],
    [48000, 20000, 'best', 2, 135],
  ] as const) {
    test(`turns a ${from / 1000} kHz sweep into the analytic 44.1 kHz sweep with SNR > ${minSnr} dB in band (${quality})`, async () => {
      const input = sweep(from, seconds, 20, f1);
      const ref = sweep(44100, seconds, 20, f1);
      const [left, right] = await resample([input, input.map((s) => -s)], from, 44100, quality);
      assert.equal(left.length, ref.length);
      const bandEdge = Math.min(f1, (quality === 'best' ? 0.95 : 0.85) * (Math.min(from, 44100) / 2));
      // Instantaneous frequency f0 exp(k t) reaches the band edge at t = ln(edge / f0) / k.
      const lastInBand = Math.floor((Math.log(bandEdge / 20) / (Math.log(f1 / 20) / seconds)) * 44100);
      const edge = 2000;
      const end = Math.min(lastInBand, ref.length - edge);
      const snr = snrDb(ref.subarray(0, end), left.subarray(0, end), edge);
      assert.ok(snr > minSnr, `SNR ${snr.toFixed(1)} dB up to ${bandEdge.toFixed(0)} Hz`);
      // Channels are converted independently.
      for (let i = 0; i < left.length; i += 997) assert.equal(right[i], -left[i]);
    });
  }

  // The stems of a 48 kHz song go back up from 44.1 kHz. Measured with the polyphase filter on 8 s sweeps: 116 dB.
  test('turns a 44.1 kHz sweep into the analytic 48 kHz sweep with SNR > 105 dB in band (medium)', async () => {
    const input = sweep(44100, 4, 20, 20000);
    const ref = sweep(48000, 4, 20, 20000);
    const [out] = await resample([input], 44100, 48000);
    assert.equal(out.length, ref.length);
    const lastInBand = Math.floor((Math.log((0.85 * 22050) / 20) / (Math.log(20000 / 20) / 4)) * 48000);
    const snr = snrDb(ref.subarray(0, lastInBand), out.subarray(0, lastInBand), 2000);
    assert.ok(snr > 105, `SNR ${snr.toFixed(1)} dB`);
  });

  // Content above the output's Nyquist frequency must be filtered out, not folded back into the audible band.
  test('removes a 23 kHz tone when converting 48 kHz to 44.1 kHz instead of aliasing it to 21.1 kHz', async () => {
    const n = 48000;
    const tone = Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 23000 * i) / 48000));
    const [out] = await resample([tone], 48000, 44100);
    let e = 0;
    for (let i = 2000; i < out.length - 2000; i++) e += out[i] * out[i];
    const db = 10 * Math.log10(e / (out.length - 4000) / 0.125); // relative to the tone's power
    assert.ok(db < -90, `${db.toFixed(1)} dB of the tone is left`);
  });

  test('the streaming form, fed in uneven pieces, matches the one-shot result', async () => {
    const input = sweep(48000, 3, 30, 15000);
    const other = input.map((s, i) => s * Math.cos(i / 5000));
    const oneShot = await resample([input, other], 48000, 44100);
    const r = await createResampler(48000, 44100, 2);
    const pieces: Float32Array[][] = [];
    let pos = 0;
    for (const size of [1, 100, 4095, 30000, 777, 1_000_000]) {
      const end = Math.min(input.length, pos + size);
      pieces.push(r.process([input.subarray(pos, end), other.subarray(pos, end)]));
      pos = end;
    }
    pieces.push(r.flush());
    r.destroy();
    for (let c = 0; c < 2; c++) {
      const total = pieces.reduce((n, p) => n + p[c].length, 0);
      assert.equal(total, oneShot[c].length);
      const joined = new Float32Array(total);
      let at = 0;
      for (const p of pieces) {
        joined.set(p[c], at);
        at += p[c].length;
      }
      let err = 0;
      for (let i = 0; i < total; i++) err = Math.max(err, Math.abs(joined[i] - oneShot[c][i]));
      assert.ok(err < 1e-6, `channel ${c}: max difference ${err}`);
    }
  });

  test('handles inputs longer than the wasm buffers without losing the tail', async () => {
    const input = sweep(48000, 30, 20, 15000);
    const ref = sweep(44100, 30, 20, 15000);
    const [out] = await resample([input], 48000, 44100);
    assert.equal(out.length, ref.length);
    // The last second, up to the edge: a dropped or shifted tail would show here.
    const tail = (a: Float32Array) => a.subarray(a.length - 44100, a.length);
    const snr = snrDb(tail(ref), tail(out), 2000);
    assert.ok(snr > 90, `last second: SNR ${snr.toFixed(1)} dB`);
  });

  test('rejects rates the converter does not support', async () => {
    await assert.rejects(resample([new Float32Array(10)], 0, 44100), /sample rate/);
    await assert.rejects(createResampler(44100, 400000, 2), /sample rate/);
  });

  test('converts between 44.1 kHz and every end of the supported range with exactly round(len * to / from) samples', async () => {
    // 383,989 Hz shares no factor with 44,100 Hz: libsamplerate-js cannot be given that ratio exactly.
    for (const rate of [SUPPORTED_SAMPLE_RATES.min, 200_000, 383_989, SUPPORTED_SAMPLE_RATES.max]) {
      for (const [from, to] of [
        [rate, 44100],
        [44100, rate],
      ]) {
        for (const n of [1, 3, 1000, 96_001]) {
          const out = await resample([new Float32Array(n).fill(0.25), new Float32Array(n)], from, to);
          assert.equal(out[0].length, Math.round((n * to) / from), `${n} samples ${from} → ${to} Hz`);
          assert.equal(out[1].length, out[0].length);
        }
      }
    }
  });

  test('refuses rates outside the supported range instead of returning a stream of the wrong length', async () => {
    // libsamplerate converts by at most 256×: 171 Hz → 44.1 kHz came back 20,000 times too short.
    for (const [from, to] of [
      [171, 44100],
      [SUPPORTED_SAMPLE_RATES.min - 1, 44100],
      [44100, SUPPORTED_SAMPLE_RATES.max + 1],
    ]) {
      await assert.rejects(
        resample([new Float32Array(54_000)], from, to),
        (e: XumxError) => e.code === 'BAD_ARGUMENT' && /sample rate/.test(e.message),
        `${from} → ${to} Hz`,
      );
    }
  });
});
