// Splicing a previewed part into the heard stems, on stand-in AudioBuffers (plain Float32Arrays).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SPLICE_EDGE_S, SPLICE_FADE_S, alignedStartFrame, placeRegion, spliceRegion, type BufferMaker } from './region-splice.ts';

class FakeBuffer {
  readonly channels: Float32Array[];
  constructor(channels: number, readonly length: number, readonly sampleRate: number) {
    this.channels = Array.from({ length: channels }, () => new Float32Array(length));
  }
  get numberOfChannels() { return this.channels.length; }
  get duration() { return this.length / this.sampleRate; }
  getChannelData(c: number) { return this.channels[c]; }
}

const maker = (sampleRate: number): BufferMaker => ({
  sampleRate,
  createBuffer: (channels, length, rate) => new FakeBuffer(channels, length, rate) as unknown as AudioBuffer,
});

/** A stereo buffer whose samples are `value` (left) and -`value` (right). */
function filled(length: number, value: number, rate = 1000): AudioBuffer {
  const b = new FakeBuffer(2, length, rate);
  b.channels[0].fill(value);
  b.channels[1].fill(-value);
  return b as unknown as AudioBuffer;
}

const left = (b: AudioBuffer | undefined) => b!.getChannelData(0);

describe('alignedStartFrame', () => {
  test('starts a part on a frame whose time is a whole frame at the context rate too, at or before the time asked', () => {
    for (const [songRate, ctxRate] of [[44100, 48000], [48000, 44100], [44100, 44100], [22050, 48000]]) {
      for (const seconds of [0, 0.0001, 1.23456, 97.5]) {
        const f = alignedStartFrame(seconds, songRate, ctxRate);
        assert.ok(Number.isInteger(f) && f >= 0, `${f}`);
        assert.ok(Number.isInteger(Math.round(f * ctxRate / songRate * 1e6) / 1e6), `${f} at ${songRate} → ${ctxRate}`);
        assert.ok(f <= seconds * songRate + 1e-6 && f > seconds * songRate - songRate / 100, `${f} near ${seconds * songRate}`);
      }
    }
  });

  test('never starts before the song', () => {
    assert.equal(alignedStartFrame(-0.3, 44100, 48000), 0);
  });
});

describe('placeRegion', () => {
  test("maps the part's first frame to the context rate and leaves out the resampler's edges", () => {
    const p = placeRegion({ startFrame: 44100, frames: 441000, sampleRate: 44100 }, 48000, 48000 * 180);
    assert.equal(p.at, 48000);
    assert.equal(p.from, 48000 + SPLICE_EDGE_S * 48000);
    assert.equal(p.to, 48000 * 11 - SPLICE_EDGE_S * 48000);
  });

  test('uses all of a part at the context rate, and reaches the song start and end where the part does', () => {
    assert.deepEqual(placeRegion({ startFrame: 100, frames: 500, sampleRate: 1000 }, 1000, 10_000), { at: 100, from: 100, to: 600 });
    assert.deepEqual(placeRegion({ startFrame: 0, frames: 500, sampleRate: 44100 }, 48000, 100_000).from, 0);
    assert.equal(placeRegion({ startFrame: 44100, frames: 44100, sampleRate: 44100 }, 48000, 96_000).to, 96_000);
  });
});

describe('spliceRegion', () => {
  const rate = 1000;
  const fade = SPLICE_FADE_S * rate;

  test('writes the part over the heard audio inside the span and keeps the heard audio elsewhere, in new buffers', () => {
    const heard = new Map([['vocals', filled(100, 0.5)], ['drums', filled(100, 0.25)]]);
    const part = new Map([['vocals', filled(40, 0.9)], ['drums', filled(40, 0.1)]]);
    const out = spliceRegion(maker(rate), heard, part, { at: 20, from: 25, to: 55 });
    assert.deepEqual([...out.keys()], ['vocals', 'drums']);
    const v = left(out.get('vocals'));
    assert.equal(v.length, 100);
    for (const i of [0, 24, 55, 99]) assert.equal(v[i], 0.5, `heard at ${i}`);
    for (let i = 25 + fade; i < 55 - fade; i++) assert.equal(v[i], Math.fround(0.9), `part at ${i}`);
    assert.equal(out.get('drums')!.getChannelData(1)[40], Math.fround(-0.1), 'every channel');
    assert.ok(left(heard.get('vocals')).every((x) => x === 0.5), 'the heard buffers are left as they are (A/B goes back to them)');
    assert.notEqual(out.get('vocals'), heard.get('vocals'));
  });

  test('joins both edges with a raised-cosine fade that moves step by step, never jumping', () => {
    const out = left(spliceRegion(maker(rate), new Map([['vocals', filled(100, 0)]]), new Map([['vocals', filled(60, 1)]]), { at: 10, from: 20, to: 60 }).get('vocals'));
    for (let i = 1; i < out.length; i++) assert.ok(Math.abs(out[i] - out[i - 1]) <= Math.sin(Math.PI / (2 * fade)) + 1e-6, `step at ${i}: ${out[i - 1]} → ${out[i]}`);
    assert.ok(out[20] > 0 && out[20] < 0.5, 'the fade-in starts at the span');
    assert.equal(out[20 + fade], 1);
    assert.ok(out[59] > 0 && out[59] < 0.5, 'the fade-out ends at the span');
    assert.equal(out[60], 0);
    // Equal weights sum to one: where both are the same audio, the join is inaudible.
    const same = left(spliceRegion(maker(rate), new Map([['vocals', filled(100, 0.3)]]), new Map([['vocals', filled(60, 0.3)]]), { at: 10, from: 20, to: 60 }).get('vocals'));
    assert.ok(same.every((x) => Math.abs(x - 0.3) < 1e-7));
  });

  test('reads the part from its own first frame, wherever the span begins', () => {
    const ramp = new FakeBuffer(1, 50, rate);
    ramp.channels[0].forEach((_, i, a) => (a[i] = i));
    const out = left(spliceRegion(maker(rate), new Map([['bass', filled(200, 0)]]), new Map([['bass', ramp as unknown as AudioBuffer]]), { at: 100, from: 110, to: 150 }).get('bass'));
    for (let i = 110 + fade; i < 150 - fade; i++) assert.equal(out[i], i - 100);
  });

  test('fades neither at the song start nor at its end', () => {
    const out = left(spliceRegion(maker(rate), new Map([['other', filled(50, 0)]]), new Map([['other', filled(50, 1)]]), { at: 0, from: 0, to: 50 }).get('other'));
    assert.ok(out.every((x) => x === 1));
  });

  test('never writes past the part or the song, whatever span it is given', () => {
    const out = left(spliceRegion(maker(rate), new Map([['other', filled(50, 0)]]), new Map([['other', filled(30, 1)]]), { at: 40, from: 40, to: 500 }).get('other'));
    assert.equal(out.length, 50);
    assert.equal(out[49], 1);
    const short = left(spliceRegion(maker(rate), new Map([['other', filled(100, 0)]]), new Map([['other', filled(10, 1)]]), { at: 0, from: 0, to: 90 }).get('other'));
    assert.ok(short.subarray(10).every((x) => x === 0), 'nothing after the part');
  });

  test('gives a stem the heard render lacks (a new residual) silence outside the part, and leaves out stems the part lacks', () => {
    const heard = new Map([['vocals', filled(100, 0.5)], ['residual', filled(100, 0.2)]]);
    const part = new Map([['vocals', filled(100, 0.5)], ['other', filled(100, 0.7)]]);
    // A maker that recycles old buffers: the silence must be written, not assumed.
    const used = { sampleRate: rate, createBuffer: () => filled(100, 0.9) };
    const out = spliceRegion(used, heard, part, { at: 0, from: 30, to: 60 });
    assert.deepEqual([...out.keys()], ['vocals', 'other']);
    const other = left(out.get('other'));
    assert.equal(other.length, 100);
    assert.equal(other[10], 0);
    assert.equal(other[45], Math.fround(0.7));
    assert.equal(other[80], 0);
  });
});
