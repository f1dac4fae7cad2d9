// Decode speed and peak memory for 10-minute files: 44.1 kHz stereo WAV, AIFF, FLAC, MP3, and through libav.js
// (libav.ts) AAC and ALAC in M4A and Opus in WebM, plus a 48 kHz 6-channel 24-bit WAV (the memory case). Each
// decode runs in its own process so its peak RSS is its own; the libav rows include loading libav.js.
// Also times the `wavefile` package on the stereo WAV, the whole-file alternative to wav-reader.ts.
// Run: node --import tsx bench/decode.bench.ts [minutes=10]   → prints one JSON object.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeFile } from '../src-main/engine/audio/decode.ts';
import { makeSong, tempDir } from '../test/fixtures/audio.ts';

const self = fileURLToPath(import.meta.url);

async function child(mode: string, path: string): Promise<void> {
  const t0 = performance.now();
  let frames = 0;
  if (mode === 'wavefile') {
    const { WaveFile } = await import('wavefile');
    const wav = new WaveFile(readFileSync(path));
    const samples = wav.getSamples(false, Float32Array) as unknown as Float32Array[];
    frames = samples[0].length;
  } else {
    const audio = await decodeFile(path);
    frames = audio.channels[0].length;
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds, frames, maxRssMiB: process.resourceUsage().maxRSS / 1024 }));
}

function measure(mode: string, path: string, audioSeconds: number) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', self, 'child', mode, path], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) return { error: r.stderr.trim().split('\n').slice(-3).join(' ') };
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
  return {
    fileMiB: +(statSync(path).size / 2 ** 20).toFixed(1),
    decodeSeconds: +m.seconds.toFixed(2),
    realtimeFactor: +(audioSeconds / m.seconds).toFixed(1),
    peakRssMiB: Math.round(m.maxRssMiB),
    frames: m.frames,
  };
}

async function main(): Promise<void> {
  const minutes = Number(process.argv[2] ?? 10);
  const seconds = minutes * 60;
  const dir = tempDir('xumx-bench-');
  try {
    const t0 = performance.now();
    const wav = (await makeSong(join(dir, 'song.wav'), { seconds, sampleRate: 44100, channels: 2, seed: 1 })).path;
    const makeSongSeconds = (performance.now() - t0) / 1000;
    const flac = join(dir, 'song.flac');
    const mp3 = join(dir, 'song.mp3');
    const six = join(dir, 'six.wav');
    execFileSync('ffmpeg', ['-v', 'error', '-i', wav, '-c:a', 'flac', flac]);
    execFileSync('ffmpeg', ['-v', 'error', '-i', wav, '-c:a', 'libmp3lame', '-b:a', '320k', mp3]);
    const encoded = (name: string, args: string[]) => {
      const out = join(dir, name);
      execFileSync('ffmpeg', ['-v', 'error', '-i', wav, ...args, out]);
      return out;
    };
    const aiff = encoded('song.aiff', ['-c:a', 'pcm_s16be']);
    const aac = encoded('song.m4a', ['-c:a', 'aac', '-b:a', '256k']);
    const alac = encoded('song-alac.m4a', ['-c:a', 'alac']);
    const webm = encoded('song.webm', ['-c:a', 'libopus', '-b:a', '160k']);
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      `anoisesrc=d=${seconds}:r=48000:a=0.3`,
      '-af',
      'pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0',
      '-c:a',
      'pcm_s24le',
      six,
    ]);
    const decodedStereoMiB = (seconds * 44100 * 2 * 4) / 2 ** 20;
    const result = {
      bench: 'decode',
      minutes,
      machine: `${process.platform} ${process.arch}, node ${process.version}`,
      makeSongSeconds: +makeSongSeconds.toFixed(1),
      decodedStereoFloatMiB: Math.round(decodedStereoMiB),
      wav16Stereo: measure('decode', wav, seconds),
      flac16Stereo: measure('decode', flac, seconds),
      mp3Stereo320k: measure('decode', mp3, seconds),
      aiff16Stereo: measure('decode', aiff, seconds),
      aacM4aStereo256k: measure('decode', aac, seconds),
      alacM4aStereo: measure('decode', alac, seconds),
      opusWebmStereo160k: measure('decode', webm, seconds),
      wav24SixChannel48k: {
        ...measure('decode', six, seconds),
        decodedFloatMiB: Math.round((seconds * 48000 * 6 * 4) / 2 ** 20),
      },
      wavefilePackageWav16Stereo: measure('wavefile', wav, seconds),
    };
    console.log(JSON.stringify(result, null, 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'child') await child(process.argv[3], process.argv[4]);
else await main();
