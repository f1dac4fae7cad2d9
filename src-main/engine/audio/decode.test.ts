// decodeFile against ffmpeg: every input format and bit depth we accept, compared sample by sample with
// what ffmpeg decodes from the same file (exactly for PCM/FLAC, closely for lossy codecs).
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ffmpegDecode, ffmpegFixture, hasFfmpeg, lavfi, runFfmpeg, tempDir } from '../../../test/fixtures/audio.ts';
import { floatWavFile } from '../../../test/fixtures/float-wav.ts';
import { decodeFile, decodeStream } from './decode.ts';

const skip = !hasFfmpeg() && 'ffmpeg is not installed';

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** A mono 8 kHz float WAV (32- or 64-bit, by the array's type) holding exactly `samples`. */
const floatWav = (path: string, samples: Float32Array | Float64Array): string => floatWavFile(path, [samples], 8000);

function rms(a: Float32Array): number {
  let s = 0;
  for (const v of a) s += v * v;
  return Math.sqrt(s / a.length);
}

describe('decodeFile matches ffmpeg', { skip }, () => {
  let dir = '';
  before(() => {
    dir = tempDir('xumx-decode-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const exact: {
    name: string;
    file: string;
    codec: string[];
    container: string;
    rate?: number;
    channels?: number;
    format: string;
  }[] = [
    { name: 'WAV 8-bit unsigned', file: 'u8.wav', codec: ['-c:a', 'pcm_u8'], container: 'wav', format: 'wav' },
    { name: 'WAV 16-bit', file: 's16.wav', codec: ['-c:a', 'pcm_s16le'], container: 'wav', format: 'wav' },
    { name: 'WAV 24-bit', file: 's24.wav', codec: ['-c:a', 'pcm_s24le'], container: 'wav', format: 'wav' },
    { name: 'WAV 32-bit integer', file: 's32.wav', codec: ['-c:a', 'pcm_s32le'], container: 'wav', format: 'wav' },
    { name: 'WAV 32-bit float', file: 'f32.wav', codec: ['-c:a', 'pcm_f32le'], container: 'wav', format: 'wav' },
    { name: 'WAV 64-bit float', file: 'f64.wav', codec: ['-c:a', 'pcm_f64le'], container: 'wav', format: 'wav' },
    {
      name: 'WAV 48 kHz mono',
      file: 'mono48.wav',
      codec: ['-c:a', 'pcm_s16le'],
      container: 'wav',
      rate: 48000,
      channels: 1,
      format: 'wav',
    },
    {
      name: 'WAV 48 kHz 6-channel 24-bit (WAVE_FORMAT_EXTENSIBLE)',
      file: 'six.wav',
      codec: ['-c:a', 'pcm_s24le'],
      container: 'wav',
      rate: 48000,
      channels: 6,
      format: 'wav',
    },
    {
      name: 'WAV forced WAVE_FORMAT_EXTENSIBLE stereo',
      file: 'ext.wav',
      codec: ['-c:a', 'pcm_s16le', '-rf64', 'never', '-write_bext', '0', '-bitexact'],
      container: 'wav',
      format: 'wav',
    },
    {
      name: 'RF64 WAV',
      file: 'rf64.wav',
      codec: ['-c:a', 'pcm_s16le', '-rf64', 'always'],
      container: 'wav',
      format: 'wav',
    },
    { name: 'Sony Wave64', file: 'w64.w64', codec: ['-c:a', 'pcm_s24le'], container: 'w64', format: 'wav' },
    {
      name: 'FLAC 16-bit',
      file: 's16.flac',
      codec: ['-c:a', 'flac', '-sample_fmt', 's16'],
      container: 'flac',
      format: 'flac',
    },
    {
      name: 'FLAC 24-bit 48 kHz',
      file: 's24.flac',
      codec: ['-c:a', 'flac', '-sample_fmt', 's32'],
      container: 'flac',
      rate: 48000,
      format: 'flac',
    },
    {
      name: 'FLAC 6-channel',
      file: 'six.flac',
      codec: ['-c:a', 'flac'],
      container: 'flac',
      channels: 6,
      format: 'flac',
    },
    { name: 'AIFF 8-bit', file: 's8.aiff', codec: ['-c:a', 'pcm_s8'], container: 'aiff', format: 'aiff' },
    { name: 'AIFF 16-bit', file: 's16.aiff', codec: ['-c:a', 'pcm_s16be'], container: 'aiff', format: 'aiff' },
    {
      name: 'AIFF 24-bit 48 kHz mono',
      file: 's24.aiff',
      codec: ['-c:a', 'pcm_s24be'],
      container: 'aiff',
      rate: 48000,
      channels: 1,
      format: 'aiff',
    },
    { name: 'AIFF 32-bit integer', file: 's32.aiff', codec: ['-c:a', 'pcm_s32be'], container: 'aiff', format: 'aiff' },
    { name: 'AIFF-C 32-bit float', file: 'f32.aifc', codec: ['-c:a', 'pcm_f32be'], container: 'aiff', format: 'aiff' },
    { name: 'AIFF-C 64-bit float', file: 'f64.aifc', codec: ['-c:a', 'pcm_f64be'], container: 'aiff', format: 'aiff' },
    {
      name: 'AIFF-C little-endian 16-bit (sowt)',
      file: 'sowt.aifc',
      codec: ['-c:a', 'pcm_s16le'],
      container: 'aiff',
      format: 'aiff',
    },
    {
      name: 'AIFF 6-channel 24-bit',
      file: 'six.aiff',
      codec: ['-c:a', 'pcm_s24be'],
      container: 'aiff',
      channels: 6,
      format: 'aiff',
    },
    {
      name: 'ALAC 16-bit in M4A',
      file: 's16.m4a',
      codec: ['-c:a', 'alac', '-sample_fmt', 's16p'],
      container: 'ipod',
      format: 'alac',
    },
    {
      name: 'ALAC 24-bit 96 kHz in M4A',
      file: 's24.m4a',
      codec: ['-c:a', 'alac', '-sample_fmt', 's32p', '-bits_per_raw_sample', '24'],
      container: 'ipod',
      rate: 96000,
      format: 'alac',
    },
    { name: 'FLAC in Matroska', file: 'flac.mka', codec: ['-c:a', 'flac'], container: 'matroska', format: 'flac' },
  ];
  for (const c of exact) {
    test(`${c.name} decodes to the same samples as ffmpeg`, async () => {
      const path = ffmpegFixture(join(dir, c.file), {
        codecArgs: c.codec,
        container: c.container,
        sampleRate: c.rate,
        channels: c.channels,
      });
      const ours = await decodeFile(path);
      const ref = ffmpegDecode(path, c.channels ?? 2);
      assert.equal(ours.format, c.format);
      assert.equal(ours.sampleRate, c.rate ?? 44100);
      assert.equal(ours.channels.length, c.channels ?? 2);
      for (let ch = 0; ch < ref.length; ch++) {
        assert.equal(ours.channels[ch].length, ref[ch].length);
        // Integers scale by 2^(bits−1) on both sides, so the floats are identical, not merely close.
        assert.equal(maxAbsDiff(ours.channels[ch], ref[ch]), 0, `channel ${ch} differs`);
      }
    });
  }

  const lossy: {
    name: string;
    file: string;
    codec: string[];
    container: string;
    format: string;
    channels?: number;
    rate: number;
  }[] = [
    {
      name: 'MP3 CBR',
      file: 'cbr.mp3',
      codec: ['-c:a', 'libmp3lame', '-b:a', '192k'],
      container: 'mp3',
      format: 'mp3',
      rate: 44100,
    },
    {
      name: 'MP3 VBR mono',
      file: 'vbr.mp3',
      codec: ['-c:a', 'libmp3lame', '-q:a', '2'],
      container: 'mp3',
      format: 'mp3',
      channels: 1,
      rate: 44100,
    },
    {
      name: 'Ogg Vorbis',
      file: 'v.ogg',
      codec: ['-c:a', 'libvorbis'],
      container: 'ogg',
      format: 'ogg-vorbis',
      rate: 44100,
    },
    {
      name: 'Ogg Vorbis 6-channel',
      file: 'v6.ogg',
      codec: ['-c:a', 'libvorbis'],
      container: 'ogg',
      format: 'ogg-vorbis',
      channels: 6,
      rate: 48000,
    },
    {
      name: 'Opus',
      file: 'o.opus',
      codec: ['-c:a', 'libopus', '-b:a', '128k'],
      container: 'opus',
      format: 'opus',
      rate: 48000,
    },
    {
      name: 'Opus 6-channel',
      file: 'o6.opus',
      codec: ['-c:a', 'libopus', '-b:a', '256k'],
      container: 'opus',
      format: 'opus',
      channels: 6,
      rate: 48000,
    },
    {
      name: 'AAC-LC in M4A',
      file: 'lc.m4a',
      codec: ['-c:a', 'aac', '-b:a', '192k'],
      container: 'ipod',
      format: 'aac',
      rate: 44100,
    },
    {
      name: 'AAC-LC mono 22.05 kHz in M4A',
      file: 'lc-mono.m4a',
      codec: ['-c:a', 'aac', '-b:a', '64k'],
      container: 'ipod',
      format: 'aac',
      channels: 1,
      rate: 22050,
    },
    {
      name: 'AAC-LC 6-channel in MP4',
      file: 'lc6.mp4',
      codec: ['-c:a', 'aac', '-b:a', '384k'],
      container: 'mp4',
      format: 'aac',
      channels: 6,
      rate: 48000,
    },
    { name: 'AAC in MOV', file: 'q.mov', codec: ['-c:a', 'aac'], container: 'mov', format: 'aac', rate: 44100 },
    { name: 'raw AAC (ADTS)', file: 'raw.aac', codec: ['-c:a', 'aac'], container: 'adts', format: 'aac', rate: 44100 },
    {
      name: 'Opus in WebM',
      file: 'o.webm',
      codec: ['-c:a', 'libopus', '-b:a', '128k'],
      container: 'webm',
      format: 'opus',
      rate: 48000,
    },
    {
      name: 'Opus 6-channel in WebM',
      file: 'o6.webm',
      codec: ['-c:a', 'libopus', '-b:a', '256k'],
      container: 'webm',
      format: 'opus',
      channels: 6,
      rate: 48000,
    },
    {
      name: 'Vorbis in WebM',
      file: 'v.webm',
      codec: ['-c:a', 'libvorbis'],
      container: 'webm',
      format: 'vorbis',
      rate: 44100,
    },
    {
      name: 'Vorbis 6-channel in Matroska',
      file: 'v6.mka',
      codec: ['-c:a', 'libvorbis'],
      container: 'matroska',
      format: 'vorbis',
      channels: 6,
      rate: 48000,
    },
  ];
  for (const c of lossy) {
    test(`${c.name} decodes close to ffmpeg, channels in WAV order`, async () => {
      const channels = c.channels ?? 2;
      const path = ffmpegFixture(join(dir, c.file), {
        codecArgs: c.codec,
        container: c.container,
        channels,
        sampleRate: c.rate,
        seconds: 2,
      });
      const ours = await decodeFile(path);
      const ref = ffmpegDecode(path, channels);
      assert.equal(ours.format, c.format);
      assert.equal(ours.sampleRate, c.rate);
      assert.equal(ours.channels.length, channels);
      for (let ch = 0; ch < channels; ch++) {
        const n = Math.min(ours.channels[ch].length, ref[ch].length);
        assert.ok(
          Math.abs(ours.channels[ch].length - ref[ch].length) <= 1152 * 2,
          `length ${ours.channels[ch].length} vs ${ref[ch].length}`,
        );
        // Both decoders follow the same gapless/pre-skip rules, so the signals line up sample for sample;
        // the residual is decoder rounding, far below the signal (sines at −6 dBFS, RMS ≈ 0.35).
        const diff = new Float32Array(n);
        for (let i = 0; i < n; i++) diff[i] = ours.channels[ch][i] - ref[ch][i];
        assert.ok(rms(diff) < 0.01 * rms(ref[ch].subarray(0, n)), `channel ${ch}: residual RMS ${rms(diff)}`);
      }
    });
  }

  // Two minutes: several WAV slices and several of the compressed decoders' feeds, so pieces have edges to get wrong.
  const streamed: { name: string; file: string; codec: string[]; container: string; exact: boolean }[] = [
    { name: 'WAV', file: 'long.wav', codec: ['-c:a', 'pcm_s16le'], container: 'wav', exact: true },
    { name: 'AIFF', file: 'long.aiff', codec: ['-c:a', 'pcm_s24be'], container: 'aiff', exact: true },
    { name: 'FLAC', file: 'long.flac', codec: ['-c:a', 'flac'], container: 'flac', exact: true },
    { name: 'MP3', file: 'long.mp3', codec: ['-c:a', 'libmp3lame', '-b:a', '320k'], container: 'mp3', exact: false },
    {
      name: 'Ogg Vorbis',
      file: 'long.ogg',
      codec: ['-c:a', 'libvorbis', '-q:a', '10'],
      container: 'ogg',
      exact: false,
    },
    { name: 'Opus', file: 'long.opus', codec: ['-c:a', 'libopus', '-b:a', '256k'], container: 'opus', exact: false },
  ];
  for (const c of streamed) {
    test(`${c.name} decodes a piece at a time, each piece a few MB, together the same samples as the whole file`, async () => {
      const path = ffmpegFixture(join(dir, c.file), { codecArgs: c.codec, container: c.container, seconds: 120 });
      const stream = await decodeStream(path);
      const pieces: Float32Array[][] = [];
      for await (const piece of stream.pieces) pieces.push(piece);
      assert.ok(pieces.length > 1, `${pieces.length} piece(s)`);
      const largest = Math.max(...pieces.map((p) => p[0].length));
      assert.ok(largest <= 90 * stream.sampleRate, `a piece of ${largest} frames`);
      const joined = [0, 1].map((ch) => {
        const out = new Float32Array(pieces.reduce((n, p) => n + p[ch].length, 0));
        let at = 0;
        for (const p of pieces) {
          out.set(p[ch], at);
          at += p[ch].length;
        }
        return out;
      });
      assert.deepEqual(joined, (await decodeFile(path)).channels);
      // Each says its length before decoding (the engine reads them as they come).
      assert.equal(stream.frames, joined[0].length);
      const ref = ffmpegDecode(path, 2);
      for (let ch = 0; ch < 2; ch++) {
        if (c.exact) {
          assert.equal(joined[ch].length, ref[ch].length);
          assert.equal(maxAbsDiff(joined[ch], ref[ch]), 0, `channel ${ch} differs`);
        } else {
          const n = Math.min(joined[ch].length, ref[ch].length);
          const diff = new Float32Array(n);
          for (let i = 0; i < n; i++) diff[i] = joined[ch][i] - ref[ch][i];
          assert.ok(rms(diff) < 0.01 * rms(ref[ch].subarray(0, n)), `channel ${ch}: residual RMS ${rms(diff)}`);
        }
      }
    });
  }

  // The LAME extension of an MP3's Info/Xing header, and an Ogg stream's last granule position (less Opus's
  // pre-skip), give the decoded length before decoding.
  const headerLengths: { name: string; args: string[]; rate: number; channels: number; container: string }[] = [
    { name: 'MP3 CBR', args: ['-c:a', 'libmp3lame', '-b:a', '256k'], rate: 44100, channels: 2, container: 'mp3' },
    { name: 'MP3 VBR', args: ['-c:a', 'libmp3lame', '-q:a', '2'], rate: 44100, channels: 2, container: 'mp3' },
    { name: 'MP3 48 kHz', args: ['-c:a', 'libmp3lame', '-b:a', '192k'], rate: 48000, channels: 2, container: 'mp3' },
    { name: 'MP3 mono', args: ['-c:a', 'libmp3lame', '-b:a', '96k'], rate: 44100, channels: 1, container: 'mp3' },
    { name: 'Ogg Vorbis', args: ['-c:a', 'libvorbis'], rate: 44100, channels: 2, container: 'ogg' },
    { name: 'Ogg Vorbis 48 kHz', args: ['-c:a', 'libvorbis'], rate: 48000, channels: 2, container: 'ogg' },
    { name: 'Opus', args: ['-c:a', 'libopus', '-b:a', '128k'], rate: 48000, channels: 2, container: 'opus' },
  ];
  for (const h of headerLengths) {
    test(`${h.name} says its length before decoding: the samples the encoder was given`, async () => {
      const path = ffmpegFixture(join(dir, `length-${h.name.replace(/ /g, '-')}.${h.container}`), {
        codecArgs: h.args,
        container: h.container,
        seconds: 7.3,
        sampleRate: h.rate,
        channels: h.channels,
      });
      const stream = await decodeStream(path);
      await stream.pieces.return?.();
      const decoded = await decodeFile(path);
      assert.equal(stream.frames, Math.round(7.3 * h.rate));
      assert.equal(decoded.channels[0].length, stream.frames);
      assert.equal(ffmpegDecode(path, h.channels)[0].length, stream.frames, "ffmpeg's gapless decode agrees");
      assert.deepEqual(decoded.notices, []);
    });
  }

  // Without an Info header nothing says the encoder's delay: every frame is decoded whole, and the frames counted
  // before decoding give the length.
  const plainStreams: { name: string; args: string[]; rate: number; channels: number; ext: string; spf: number }[] = [
    { name: 'MP3 CBR', args: ['-c:a', 'libmp3lame', '-b:a', '128k'], rate: 44100, channels: 2, ext: 'mp3', spf: 1152 },
    { name: 'MP3 VBR', args: ['-c:a', 'libmp3lame', '-q:a', '4'], rate: 44100, channels: 2, ext: 'mp3', spf: 1152 },
    {
      name: 'MP3 48 kHz',
      args: ['-c:a', 'libmp3lame', '-b:a', '192k'],
      rate: 48000,
      channels: 2,
      ext: 'mp3',
      spf: 1152,
    },
    { name: 'MP3 mono', args: ['-c:a', 'libmp3lame', '-b:a', '64k'], rate: 44100, channels: 1, ext: 'mp3', spf: 1152 },
    { name: 'MPEG-2 MP3', args: ['-c:a', 'libmp3lame', '-b:a', '64k'], rate: 22050, channels: 2, ext: 'mp3', spf: 576 },
    { name: 'MP2', args: ['-c:a', 'mp2', '-b:a', '192k'], rate: 44100, channels: 2, ext: 'mp2', spf: 1152 },
  ];
  for (const m of plainStreams) {
    test(`${m.name} without an Info header says its length before decoding: every frame whole`, async () => {
      const path = ffmpegFixture(join(dir, `plain-${m.name.replace(/ /g, '-')}.${m.ext}`), {
        codecArgs: [...m.args, ...(m.ext === 'mp3' ? ['-write_xing', '0'] : [])],
        container: m.ext,
        seconds: 7.3,
        sampleRate: m.rate,
        channels: m.channels,
      });
      const stream = await decodeStream(path);
      await stream.pieces.return?.();
      const decoded = await decodeFile(path);
      assert.equal(decoded.sampleRate, m.rate);
      assert.equal(stream.frames, decoded.channels[0].length);
      assert.equal(stream.frames! % m.spf, 0);
      assert.ok(stream.frames! >= Math.round(7.3 * m.rate), `${stream.frames} frames`);
      assert.deepEqual(decoded.notices, []);
    });
  }

  test('a FLAC file holding more samples than its STREAMINFO gives is cut to that length, with a notice', async () => {
    const path = ffmpegFixture(join(dir, 'over-long.flac'), {
      codecArgs: ['-c:a', 'flac'],
      container: 'flac',
      seconds: 2,
    });
    const whole = (await decodeFile(path)).channels[0].length;
    // STREAMINFO's 36-bit sample count: the low 4 bits of byte 21, then bytes 22–25.
    const bytes = readFileSync(path);
    const total = (bytes[21] & 0x0f) * 2 ** 32 + bytes.readUInt32BE(22);
    assert.equal(total, whole);
    bytes.writeUInt32BE(total - 1000, 22);
    writeFileSync(path, bytes);
    const stream = await decodeStream(path);
    assert.equal(stream.frames, whole - 1000);
    const cut = await decodeFile(path);
    assert.equal(cut.channels[0].length, whole - 1000);
    assert.ok(
      cut.notices.includes(`ignored 1000 samples past the ${whole - 1000} the FLAC header gives`),
      JSON.stringify(cut.notices),
    );
    await stream.pieces.return?.();
  });

  test('a stream left after its first piece closes the file', async () => {
    const path = ffmpegFixture(join(dir, 'left.flac'), { codecArgs: ['-c:a', 'flac'], container: 'flac', seconds: 60 });
    const { readdirSync, readlinkSync } = await import('node:fs');
    const open = () =>
      readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return readlinkSync(`/proc/self/fd/${fd}`) === path;
        } catch {
          return false;
        }
      }).length;
    const stream = await decodeStream(path);
    assert.equal(open(), 1);
    for await (const piece of stream.pieces) {
      assert.ok(piece.length);
      break;
    }
    assert.equal(open(), 0);
  });

  test('a FLAC file with an ID3v2 tag in front decodes', async () => {
    const path = ffmpegFixture(join(dir, 'id3.flac'), {
      codecArgs: ['-c:a', 'flac', '-write_id3v2', '1'],
      container: 'flac',
    });
    const { readFileSync, writeFileSync } = await import('node:fs');
    const tag = Buffer.from([0x49, 0x44, 0x33, 3, 0, 0, 0, 0, 0, 20, ...new Array(20).fill(0)]);
    writeFileSync(path, Buffer.concat([tag, readFileSync(path)]));
    const ours = await decodeFile(path);
    assert.equal(ours.format, 'flac');
    assert.equal(ours.channels[0].length, 44100);
  });

  test('a WAV streamed to a pipe (unknown length) decodes to the end with a notice', async () => {
    const { writeFileSync } = await import('node:fs');
    const bytes = runFfmpeg([...lavfi('sine=d=0.5'), '-f', 'wav', 'pipe:1']);
    const path = join(dir, 'piped.wav');
    writeFileSync(path, bytes);
    const ours = await decodeFile(path);
    assert.equal(ours.channels[0].length, 22050);
    assert.ok(ours.notices.some((n) => n.includes('streamed')));
  });

  test('a 64-bit float WAV with values beyond the float32 range decodes them as silence and says so', async () => {
    const path = floatWav(join(dir, 'huge64.wav'), new Float64Array([0.5, 1e300, -1e300, -0.25]));
    const ours = await decodeFile(path);
    assert.deepEqual(Array.from(ours.channels[0]), [0.5, 0, 0, -0.25]);
    assert.ok(ours.notices.some((n) => n.includes('out-of-range')));
  });

  test('an AIFF streamed to a pipe (FORM size 0) decodes to the end', async () => {
    const { writeFileSync } = await import('node:fs');
    const bytes = runFfmpeg([...lavfi('sine=d=0.5'), '-f', 'aiff', 'pipe:1']);
    const path = join(dir, 'piped.aiff');
    writeFileSync(path, bytes);
    assert.equal(bytes.readUInt32BE(4), 0, 'ffmpeg wrote a FORM size after all (the test would prove nothing)');
    const ours = await decodeFile(path);
    assert.equal(ours.channels[0].length, 22050);
  });

  test('a float WAV with NaN and infinite samples decodes them as silence and says so', async () => {
    const path = floatWav(join(dir, 'nan.wav'), new Float32Array([0.5, NaN, Infinity, -0.25]));
    const ours = await decodeFile(path);
    assert.deepEqual(Array.from(ours.channels[0]), [0.5, 0, 0, -0.25]);
    assert.ok(ours.notices.some((n) => n.includes('NaN')));
  });
});
