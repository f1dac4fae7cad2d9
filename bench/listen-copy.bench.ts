// A listening copy's size and accuracy on a real separation: the bundled model separates a synthetic song (the test
// fixtures' synth, 16-bit input) with its stems written as 32-bit floats, and the copy written meanwhile is read back
// through the route's reader and compared with the stems.
//   node --import tsx bench/listen-copy.bench.ts [--seconds 60] [--threads 1]
// Prints JSON: the copy's bytes per minute of audio, what 32-bit floats would take, the ratio, and the largest
// difference between a sample the copy gives back and the stem file's.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { ROOT } from '../test/integration/helpers/models.ts';
import { decodeFile } from '../src-main/engine/audio/decode.ts';
import { bundledModelsDir, createEngine } from '../src-main/engine/index.ts';
import { readListeningCopy } from '../src-main/engine/separate/listening-copy.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '60' }, threads: { type: 'string', default: '1' } },
});
const out = join(ROOT, 'test-output', 'bench', 'listen-copy');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const seconds = Number(values.seconds);
const song = join(out, 'song.wav');
await makeSong(song, { seconds, seed: 11, sampleRate: 44100, bitDepth: 16 });

const threads = Number(values.threads);
const engine = createEngine({
  modelDirs: [bundledModelsDir()],
  threads,
  dspThreads: threads,
  cache: { dir: join(out, 'cache') },
});
const copyPath = join(out, 'song.copy');
let view = { sampleRate: 0, frames: 0, sources: [] as string[] };
const r = await engine.separate(
  { input: song, outDir: join(out, 'stems'), format: 'wav', bitDepth: '32f' },
  {
    listen: {
      path: copyPath,
      onReady: (l) => {
        view = l;
      },
    },
  },
);
await engine.dispose();
if (!r.ok) throw new Error(r.error.message);

const width = view.sources.length * 2;
let worst = 0;
let peak = 0;
const step = 60 * view.sampleRate;
const stems = await Promise.all(
  view.sources.map(async (s) => (await decodeFile(r.stems[s], { tags: false })).channels),
);
for (let from = 0; from < view.frames; from += step) {
  const n = Math.min(step, view.frames - from);
  const block = await readListeningCopy(copyPath, view.sources.length, view.frames, from, n);
  for (let k = 0; k < width; k++) {
    const stem = stems[k >> 1][k & 1];
    for (let i = 0; i < n; i++) {
      worst = Math.max(worst, Math.abs(block[i * width + k] - stem[from + i]));
      peak = Math.max(peak, Math.abs(stem[from + i]));
    }
  }
}
const bytes = statSync(copyPath).size;
const minutes = view.frames / view.sampleRate / 60;
const floatBytes = view.frames * width * 4;
console.log(
  JSON.stringify(
    {
      seconds,
      sampleRate: view.sampleRate,
      stems: view.sources,
      copyBytes: bytes,
      float32Bytes: floatBytes,
      mbPerMinute: +(bytes / minutes / 1e6).toFixed(2),
      float32MbPerMinute: +(floatBytes / minutes / 1e6).toFixed(2),
      ratio: +(bytes / floatBytes).toFixed(4),
      maxAbsError: worst,
      stemPeak: peak,
    },
    null,
    2,
  ),
);
rmSync(out, { recursive: true, force: true });
