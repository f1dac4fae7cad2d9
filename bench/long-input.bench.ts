// Engine memory for long inputs: peak RSS of preparing a 10-minute and a 2-hour song (decode → stereo → 44.1 kHz),
// the whole-song way (decodeFile, toStereo and resample over whole arrays: what the engine held before its prepared
// songs went to disk) against the engine's own way (decodeStream → a temporary file, pipeline.ts preparedSong),
// and of separating them with the bundled full-size model on the CPU (one network thread, DSP in the job's thread).
// The 10-minute songs are separated whole; the 2-hour ones until the progress passes `--minutes` of the song (the
// first progress report past it: chunks go by the batch). Inputs are
// generated at run time from a 10-second pink noise + tone pattern (WAV 16-bit, and FLAC) into a temp folder, and
// every measurement runs in its own process so its peak RSS is its own.
// Run: node --import tsx bench/long-input.bench.ts [--minutes 3] [--no-separate]   → prints one JSON object.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeFile, decodeStream } from '../src-main/engine/audio/decode.ts';
import { toStereo } from '../src-main/engine/audio/channels.ts';
import { resample } from '../src-main/engine/dsp/resample.ts';
import { CONTRACT } from '../src-main/engine/model/manifest.ts';
import { JobRunner } from '../src-main/engine/runner.ts';
import { preparedSong } from '../src-main/engine/separate/pipeline.ts';

const self = fileURLToPath(import.meta.url);
const ROOT = join(self, '..', '..');
const MODEL_ID = 'xumx-studio-small';
/** Songs up to this long are separated whole; longer ones for `--minutes`. */
const WHOLE_SEPARATION_MINUTES = 10;

type Mode = 'whole' | 'stream' | 'separate';
const CHUNK_STAGES = new Set(['network', 'wiener', 'encode']);

async function child(mode: Mode, path: string, scratch: string, stopAt: number): Promise<void> {
  const t0 = performance.now();
  const out: Record<string, unknown> = {};
  let runner: JobRunner | null = null;
  if (mode === 'whole') {
    const decoded = await decodeFile(path, { tags: false });
    const stereo = toStereo(decoded.channels);
    decoded.channels = [];
    const song = await resample(stereo.channels, decoded.sampleRate, CONTRACT.sampleRate);
    out.frames = song[0].length;
  } else if (mode === 'stream') {
    const prepared = await preparedSong(
      path,
      {
        decode: (p) => decodeStream(p, { tags: false }),
        createStemWriter: () => {
          throw new Error('no stems here');
        },
        songFolder: scratch,
      },
      undefined,
    );
    out.frames = prepared.song.frames;
    out.tempFileBytes = readdirSync(scratch).reduce((n, f) => n + statSync(join(scratch, f)).size, 0);
    await prepared.song.release();
  } else {
    runner = new JobRunner({ modelDirs: [join(ROOT, 'models')], threads: 1, dspThreads: 0 });
    const stop = new AbortController();
    let reached = 0;
    let loopStart: number | null = null;
    const r = await runner.run(
      { input: path, outDir: scratch, modelId: MODEL_ID, format: 'wav', ep: 'cpu' },
      {
        signal: stop.signal,
        // `stopAt` is a share of the chunk loop, whose progress starts where its first report is.
        onProgress: (p) => {
          reached = p.fraction;
          if (loopStart === null && CHUNK_STAGES.has(p.stage)) loopStart = p.fraction;
          if (loopStart !== null && p.fraction >= loopStart + (1 - loopStart) * stopAt) stop.abort();
        },
      },
    );
    out.result = r.ok ? 'complete' : r.error.code === 'CANCELLED' ? 'stopped' : `${r.error.code}: ${r.error.message}`;
    out.progressReached = +reached.toFixed(3);
  }
  out.seconds = +((performance.now() - t0) / 1000).toFixed(1);
  out.peakRssMiB = Math.round(process.resourceUsage().maxRSS / 1024);
  console.log(JSON.stringify(out));
  await runner?.dispose();
}

function measure(mode: Mode, path: string, stopAt = 2): Record<string, unknown> {
  const scratch = mkdtempSync(join(tmpdir(), 'xumx-long-scratch-'));
  try {
    const r = spawnSync(
      'nice',
      ['-n', '10', process.execPath, '--import', 'tsx', self, 'child', mode, path, scratch, String(stopAt)],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    const report = r.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .pop();
    if (!report) return { error: `${r.status ?? r.signal}: ${r.stderr.trim().split('\n').slice(-3).join(' ')}` };
    return JSON.parse(report);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function makeInputs(dir: string, minutes: number): { wav: string; flac: string } {
  const pattern = join(dir, 'pattern.wav');
  const ffmpeg = (...args: string[]) => execFileSync('nice', ['-n', '10', 'ffmpeg', '-v', 'error', '-y', ...args]);
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'anoisesrc=d=10:c=pink:r=44100:a=0.2',
    '-f',
    'lavfi',
    '-i',
    'sine=f=220:d=10:r=44100',
    '-filter_complex',
    '[0][1]amix=inputs=2,aformat=channel_layouts=stereo',
    '-c:a',
    'pcm_s16le',
    pattern,
  );
  const wav = join(dir, `${minutes}min.wav`);
  const flac = join(dir, `${minutes}min.flac`);
  ffmpeg('-stream_loop', String(minutes * 6 - 1), '-i', pattern, '-c:a', 'pcm_s16le', wav);
  ffmpeg('-i', wav, '-c:a', 'flac', flac);
  return { wav, flac };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { minutes: { type: 'string', default: '3' }, 'no-separate': { type: 'boolean', default: false } },
  });
  const separateMinutes = Number(values.minutes);
  const dir = mkdtempSync(join(tmpdir(), 'xumx-long-input-'));
  const rows: Record<string, unknown>[] = [];
  try {
    for (const minutes of [10, 120]) {
      const inputs = makeInputs(dir, minutes);
      for (const [format, path] of Object.entries(inputs)) {
        const whole = measure('whole', path);
        const stream = measure('stream', path);
        const bytes = Number(stream.tempFileBytes);
        const row: Record<string, unknown> = {
          input: `${minutes} min ${format}`,
          fileMiB: +(statSync(path).size / 2 ** 20).toFixed(1),
          prepareWhole: whole,
          prepareStreamed: stream,
          peakRatio: +(Number(whole.peakRssMiB) / Number(stream.peakRssMiB)).toFixed(2),
          tempFileMBPerMinute: +(bytes / 1e6 / minutes).toFixed(1),
        };
        if (!values['no-separate']) {
          const whole = minutes <= WHOLE_SEPARATION_MINUTES;
          row.separate = {
            measured: whole ? 'whole song' : `until progress reached ${separateMinutes} min of the song`,
            ...measure('separate', path, whole ? 2 : separateMinutes / minutes),
          };
        }
        rows.push(row);
        rmSync(path, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(JSON.stringify({ model: MODEL_ID, ep: 'cpu', networkThreads: 1, dspThreads: 0, rows }, null, 2));
}

if (process.argv[2] === 'child')
  await child(process.argv[3] as Mode, process.argv[4], process.argv[5], Number(process.argv[6]));
else await main();
