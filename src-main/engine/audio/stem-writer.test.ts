// Round trips through our own writer and decoder, cross-checked with ffmpeg, and the atomic-write rules:
// nothing partial at the target path, ever.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ffmpegDecode, hasFfmpeg, makeSong, tempDir } from '../../../test/fixtures/audio.ts';
import { loadDspKernels } from '../dsp/kernels/index.ts';
import { XumxError } from '../errors.ts';
import { decodeFile } from './decode.ts';
import { mulberry32 } from './dither.ts';
import { createStemWriter, writeAudioFile } from './stem-writer.ts';

/** Values exactly representable at `bits` (k / 2^(bits−1)), so a lossless round trip must be bit-exact. */
function gridSignal(frames: number, channels: number, bits: number): Float32Array[] {
  const q = 2 ** (bits - 1);
  return Array.from({ length: channels }, (_, c) =>
    Float32Array.from({ length: frames }, (_, i) => Math.round(0.6 * Math.sin((i * (c + 1)) / 17) * q) / q),
  );
}

function sameSamples(a: Float32Array[], b: Float32Array[]): void {
  assert.equal(a.length, b.length);
  for (let c = 0; c < a.length; c++) {
    assert.equal(a[c].length, b[c].length);
    for (let i = 0; i < a[c].length; i++)
      if (a[c][i] !== b[c][i]) assert.fail(`channel ${c} sample ${i}: ${a[c][i]} ≠ ${b[c][i]}`);
  }
}

const skipFfmpeg = !hasFfmpeg() && 'ffmpeg is not installed';

describe('stem writer', () => {
  let dir = '';
  before(() => {
    dir = tempDir('xumx-writer-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const lossless = [
    { format: 'wav', bitDepth: 16, bits: 16 },
    { format: 'wav', bitDepth: 24, bits: 24 },
    { format: 'wav', bitDepth: '32f', bits: 24 },
    { format: 'flac', bitDepth: 16, bits: 16 },
    { format: 'flac', bitDepth: 24, bits: 24 },
  ] as const;
  for (const o of lossless) {
    test(`${o.format} ${o.bitDepth} round-trips bit-exactly through our decoder and ffmpeg`, async () => {
      const planar = gridSignal(30_000, 2, o.bits);
      const path = join(dir, `rt-${o.bitDepth}.${o.format}`);
      // Written in uneven pieces, as the engine streams them.
      const w = await createStemWriter(path, {
        format: o.format,
        bitDepth: o.bitDepth,
        sampleRate: 48000,
        channels: 2,
        dither: 'none',
      });
      for (let at = 0; at < 30_000; at += 7_001) await w.write(planar.map((c) => c.subarray(at, at + 7_001)));
      await w.close();
      const ours = await decodeFile(path);
      assert.equal(ours.sampleRate, 48000);
      sameSamples(ours.channels, planar);
      if (!skipFfmpeg) sameSamples(ffmpegDecode(path, 2), planar);
    });
  }

  test('32-bit float WAV keeps values beyond full scale; 16-bit clips them and says so', async () => {
    const loud = [new Float32Array([1.5, -2, 0.25])];
    await writeAudioFile(join(dir, 'loud.wav'), loud, {
      format: 'wav',
      bitDepth: '32f',
      sampleRate: 8000,
      channels: 1,
    });
    assert.deepEqual(Array.from((await decodeFile(join(dir, 'loud.wav'))).channels[0]), [1.5, -2, 0.25]);
    const notices = await writeAudioFile(join(dir, 'clip.wav'), loud, {
      format: 'wav',
      bitDepth: 16,
      sampleRate: 8000,
      channels: 1,
      dither: 'none',
    });
    assert.deepEqual(Array.from((await decodeFile(join(dir, 'clip.wav'))).channels[0]), [32767 / 32768, -1, 0.25]);
    assert.ok(notices.some((n) => n.includes('clipped 2')));
  });

  test('says how many samples float output keeps beyond full scale and how many that are not numbers became silence', async () => {
    const odd = [new Float32Array([1.5, NaN, Infinity, 0.25, -3])];
    const float = await writeAudioFile(join(dir, 'odd-float.wav'), odd, {
      format: 'wav',
      bitDepth: '32f',
      sampleRate: 8000,
      channels: 1,
    });
    assert.deepEqual(Array.from((await decodeFile(join(dir, 'odd-float.wav'))).channels[0]), [1.5, 0, 0, 0.25, -3]);
    assert.ok(
      float.some((n) => n.startsWith('2 samples beyond full scale')),
      JSON.stringify(float),
    );
    assert.ok(
      float.some((n) => n.startsWith('2 samples not numbers')),
      JSON.stringify(float),
    );
    const fixed = await writeAudioFile(join(dir, 'odd-24.wav'), odd, {
      format: 'wav',
      bitDepth: 24,
      sampleRate: 8000,
      channels: 1,
    });
    assert.ok(
      fixed.some((n) => n.startsWith('clipped 3 samples')),
      JSON.stringify(fixed),
    );
    assert.ok(
      fixed.some((n) => n.startsWith('1 sample not numbers')),
      JSON.stringify(fixed),
    );
  });

  test('TPDF dither keeps 16-bit error within two steps and leaves digital silence silent', async () => {
    const x = Float32Array.from({ length: 20_000 }, (_, i) => (i < 1000 ? 0 : 0.3 * Math.sin(i / 9)));
    await writeAudioFile(join(dir, 'dither.wav'), [x], { format: 'wav', bitDepth: 16, sampleRate: 44100, channels: 1 });
    const y = (await decodeFile(join(dir, 'dither.wav'))).channels[0];
    let worst = 0;
    let exact = 0;
    for (let i = 0; i < x.length; i++) {
      worst = Math.max(worst, Math.abs(y[i] - x[i]) * 32768);
      if (Math.round(x[i] * 32768) === Math.round(y[i] * 32768)) exact++;
    }
    assert.ok(worst <= 1.5, `error of ${worst} LSB`);
    assert.ok(exact < x.length * 0.9, 'dither changed nothing');
    assert.ok(y.subarray(0, 1000).every((v) => v === 0));
  });

  test('FLAC given 32-bit float is written as 24-bit with a notice', async () => {
    const notices = await writeAudioFile(join(dir, 'f.flac'), gridSignal(5000, 1, 24), {
      format: 'flac',
      bitDepth: '32f',
      sampleRate: 44100,
      channels: 1,
    });
    assert.ok(notices.some((n) => n.includes('24-bit')));
    assert.equal((await decodeFile(join(dir, 'f.flac'))).channels[0].length, 5000);
  });

  test('MP3 keeps the level and shape of the signal, sample-aligned (correlation > 0.99 at lag 0)', async () => {
    const n = 44100 * 2;
    const x = [0, 1].map((c) =>
      Float32Array.from(
        { length: n },
        (_, i) => 0.4 * Math.sin((2 * Math.PI * (330 + 110 * c) * i) / 44100) + 0.1 * Math.sin(i / 3),
      ),
    );
    const path = join(dir, 'song.mp3');
    await writeAudioFile(path, x, { format: 'mp3', bitDepth: 16, sampleRate: 44100, channels: 2 });
    const y = await decodeFile(path);
    assert.equal(y.format, 'mp3');
    assert.equal(y.channels.length, 2);
    for (let c = 0; c < 2; c++) {
      let best = { corr: -1, lag: 0 };
      for (let lag = 0; lag < 3000; lag++) {
        let sxy = 0,
          sxx = 0,
          syy = 0;
        for (let i = 4000; i < n - 4000; i += 3) {
          const a = x[c][i],
            b = y.channels[c][i + lag];
          sxy += a * b;
          sxx += a * a;
          syy += b * b;
        }
        const corr = sxy / Math.sqrt(sxx * syy);
        if (corr > best.corr) best = { corr, lag };
      }
      assert.ok(best.corr > 0.99, `channel ${c}: correlation ${best.corr}`);
      assert.equal(best.lag, 0, `channel ${c}: ${best.lag} samples late`);
      assert.equal(y.channels[c].length, n);
      const rx = Math.hypot(...x[c].subarray(4000, 8000)),
        ry = Math.hypot(...y.channels[c].subarray(4000 + best.lag, 8000 + best.lag));
      assert.ok(Math.abs(20 * Math.log10(ry / rx)) < 0.5, `channel ${c}: level off by ${20 * Math.log10(ry / rx)} dB`);
    }
    if (!skipFfmpeg) assert.equal(ffmpegDecode(path, 2).length, 2);
  });

  test('MP3 stems start and end where the song does: an Info frame with the encoder delay and padding', async () => {
    const peakAt = (a: Float32Array) => a.reduce((best, v, i) => (Math.abs(v) > Math.abs(a[best]) ? i : best), 0);
    for (const [rate, channels, seconds] of [
      [44100, 2, 2],
      [48000, 2, 1.3],
      [32000, 1, 1],
      [22050, 2, 0.7],
    ] as const) {
      const n = Math.round(rate * seconds);
      const at = Math.floor(n / 3);
      const x = Array.from({ length: channels }, () => {
        const ch = new Float32Array(n);
        ch[at] = 0.9;
        return ch;
      });
      const path = join(dir, `click-${rate}-${channels}.mp3`);
      await writeAudioFile(path, x, { format: 'mp3', bitDepth: 16, sampleRate: rate, channels });
      const ours = await decodeFile(path);
      assert.equal(ours.channels[0].length, n, `${rate} Hz: our decoder`);
      assert.equal(peakAt(ours.channels[0]), at, `${rate} Hz: the click comes back in place from our decoder`);
      if (!skipFfmpeg) {
        const theirs = ffmpegDecode(path, channels);
        assert.equal(theirs[0].length, n, `${rate} Hz: ffmpeg`);
        assert.equal(peakAt(theirs[0]), at, `${rate} Hz: the click comes back in place from ffmpeg`);
      }
    }
  });

  test('MP3 stems of a rate MP3 cannot store are written at the nearest MPEG rate, as long as the song, and say so', async () => {
    for (const [rate, want] of [
      [96000, 48000],
      [88200, 44100],
      [11500, 12000],
      [384000, 48000],
    ] as const) {
      const n = Math.round(rate * 0.5);
      const tone = (r: number, i: number) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / r);
      const x = [0, 1].map(() => Float32Array.from({ length: n }, (_, i) => tone(rate, i)));
      const path = join(dir, `tone-${rate}.mp3`);
      const w = await createStemWriter(path, { format: 'mp3', bitDepth: 16, sampleRate: rate, channels: 2 });
      // In uneven pieces, as the engine streams a stem.
      for (let at = 0; at < n; at += 7919) await w.write(x.map((c) => c.subarray(at, at + 7919)));
      await w.close();
      assert.ok(
        w.notices.some((t) => t.includes(`${rate} Hz`) && t.includes(`${want} Hz`)),
        `${rate} Hz: ${w.notices.join('; ')}`,
      );
      const back = await decodeFile(path);
      assert.equal(back.sampleRate, want, `${rate} Hz`);
      assert.equal(back.channels[0].length, Math.round((n * want) / rate), `${rate} Hz: the stem's length`);
      // Still the same 1 kHz tone (not the samples relabelled with another rate): correlation away from the ends.
      let xy = 0,
        xx = 0,
        yy = 0;
      for (let i = want / 20; i < back.channels[0].length - want / 20; i++) {
        const a = back.channels[0][i],
          b = tone(want, i);
        xy += a * b;
        xx += a * a;
        yy += b * b;
      }
      assert.ok(xy / Math.sqrt(xx * yy) > 0.99, `${rate} Hz: correlation with the tone ${xy / Math.sqrt(xx * yy)}`);
    }
  });

  test('MP3 refuses more than two channels with BAD_ARGUMENT naming the file', async () => {
    const path = join(dir, 'six.mp3');
    await assert.rejects(
      createStemWriter(path, { format: 'mp3', bitDepth: 16, sampleRate: 44100, channels: 6 }),
      (e: XumxError) => e.code === 'BAD_ARGUMENT' && e.message.startsWith(`${path}: `),
    );
  });

  test('nothing appears at the target until close, and abort leaves no file at all', async () => {
    const sub = join(dir, 'atomic');
    mkdirSync(sub);
    const path = join(sub, 'vocals.wav');
    const w = await createStemWriter(path, { format: 'wav', bitDepth: 24, sampleRate: 44100, channels: 2 });
    await w.write(gridSignal(1000, 2, 24));
    assert.equal(existsSync(path), false);
    assert.equal(readdirSync(sub).filter((f) => f.startsWith('.vocals.wav.') && f.endsWith('.partial')).length, 1);
    await w.abort();
    assert.deepEqual(readdirSync(sub), []);
    await assert.rejects(w.write(gridSignal(10, 2, 24)));
  });

  test('a missing output folder is OUTPUT_NOT_WRITABLE and names the file', async () => {
    const path = join(dir, 'no-such-folder', 'drums.flac');
    await assert.rejects(
      createStemWriter(path, { format: 'flac', bitDepth: 16, sampleRate: 44100, channels: 2 }),
      (e: XumxError) => e.code === 'OUTPUT_NOT_WRITABLE' && e.message.startsWith(`${path}: `),
    );
  });

  test('a path under a file is OUTPUT_NOT_WRITABLE', async () => {
    writeFileSync(join(dir, 'plain-file'), 'x');
    const path = join(dir, 'plain-file', 'bass.wav');
    await assert.rejects(
      createStemWriter(path, { format: 'wav', bitDepth: 16, sampleRate: 44100, channels: 2 }),
      (e: XumxError) => e.code === 'OUTPUT_NOT_WRITABLE',
    );
  });

  test('mismatched channel counts are refused', async () => {
    const w = await createStemWriter(join(dir, 'mismatch.wav'), {
      format: 'wav',
      bitDepth: 16,
      sampleRate: 44100,
      channels: 2,
    });
    await assert.rejects(w.write([new Float32Array(4)]), (e: XumxError) => e.code === 'BAD_ARGUMENT');
    await w.abort();
  });

  // A real full disk: a 256 KiB tmpfs. Mounting needs root with CAP_SYS_ADMIN; elsewhere the case is skipped.
  const mountPoint = join(tempDir('xumx-full-'), 'disk');
  mkdirSync(mountPoint);
  const mounted =
    process.getuid?.() === 0 &&
    spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', mountPoint]).status === 0;
  after(() => {
    if (mounted) execFileSync('umount', [mountPoint]);
    rmSync(join(mountPoint, '..'), { recursive: true, force: true });
  });
  test(
    'a full disk is DISK_FULL, and the partial file is removed',
    { skip: !mounted && 'cannot mount a small tmpfs here (needs root)' },
    async () => {
      const path = join(mountPoint, 'other.wav');
      const w = await createStemWriter(path, { format: 'wav', bitDepth: 24, sampleRate: 44100, channels: 2 });
      await assert.rejects(
        async () => {
          for (let i = 0; i < 20; i++) await w.write(gridSignal(44100, 2, 24));
          await w.close();
        },
        (e: XumxError) => e.code === 'DISK_FULL' && e.message.startsWith(`${path}: `),
      );
      assert.deepEqual(readdirSync(mountPoint), []);
    },
  );

  test('writes the same bytes on the DSP kernels as on the JavaScript reference, dithered, clipped and not', async () => {
    const kernels = await loadDspKernels();
    const next = mulberry32(3);
    const planar = [0, 1].map(() => Float32Array.from({ length: 20_000 }, (_, i) => 1.3 * Math.sin(i / 29) * next()));
    const formats = [
      ['wav', 16],
      ['wav', 24],
      ['flac', 16],
      ['flac', 24],
      ['mp3', 16],
    ] as const;
    for (const [format, bitDepth] of formats) {
      const bytes = [];
      for (const given of [undefined, kernels]) {
        const path = join(dir, `same-${given ? 'kernels' : 'js'}-${bitDepth}.${format}`);
        await writeAudioFile(path, planar, { format, bitDepth, sampleRate: 44100, channels: 2, kernels: given });
        bytes.push(readFileSync(path));
      }
      assert.ok(bytes[0].equals(bytes[1]), `${format} ${bitDepth}`);
    }
  });

  test('makeSong writes a seeded song (same seed, same audio) with stems that sum to the mix', async () => {
    const stemsDir = join(dir, 'stems');
    mkdirSync(stemsDir);
    const a = await makeSong(join(dir, 'a.wav'), { seconds: 3, seed: 5, bitDepth: '32f', stemsDir });
    const b = await makeSong(join(dir, 'b.wav'), { seconds: 3, seed: 5, bitDepth: '32f' });
    const c = await makeSong(join(dir, 'c.wav'), { seconds: 3, seed: 6, bitDepth: '32f' });
    const [da, db, dc] = await Promise.all([a, b, c].map((s) => decodeFile(s.path)));
    assert.equal(da.channels[0].length, 3 * 44100);
    sameSamples(da.channels, db.channels);
    assert.notDeepEqual(Array.from(da.channels[0].subarray(0, 20000)), Array.from(dc.channels[0].subarray(0, 20000)));
    const stems = await Promise.all(Object.values(a.stems!).map((p) => decodeFile(p)));
    let worst = 0,
      energy = 0;
    for (let i = 0; i < da.channels[0].length; i++) {
      const sum = stems.reduce((s, st) => s + st.channels[0][i], 0);
      worst = Math.max(worst, Math.abs(sum - da.channels[0][i]));
      energy += da.channels[0][i] ** 2;
    }
    assert.ok(worst < 1e-5, `stems differ from the mix by ${worst}`);
    assert.ok(energy / da.channels[0].length > 1e-3, 'the song is nearly silent');
    for (const st of stems)
      assert.ok(
        st.channels[0].some((v) => Math.abs(v) > 0.01),
        'a stem is silent',
      );
  });
});
