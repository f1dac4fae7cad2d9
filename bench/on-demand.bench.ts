// Blocks at the playhead rendered on demand while the song re-renders, as the listening route asks for them:
// `node --import tsx bench/on-demand.bench.ts [--minutes 3] [--changes 5]`. One engine with the estimate cache, the
// FULL-SIZE random-weight X-UMX (hidden 512, as rerender.bench.ts), a generated stereo song separated once. Then per
// change of the controls: the 2-second block at the playhead (firstBlock), the whole-song re-render started once it
// is there or after 1 s (as ListenTicket.playheadFirst lets it), the next three 2-second blocks one after another
// while it runs (nextBlocks), then a block asked and given up at once followed by one at the place sought to
// (afterSeek). Seconds from asking to the block's samples, by this process's clock. Prints JSON.
import { cpus, loadavg } from 'node:os';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { makeSong } from '../test/fixtures/audio.ts';
import { ROOT, testModel } from '../test/integration/helpers/models.ts';
import { createEngine } from '../src-main/engine/index.ts';
import type { SeparateRequest, SeparationControls, SeparationResult } from '../src-main/engine/types.ts';

const OUT = join(ROOT, 'test-output', 'bench-on-demand');
const { values: v } = parseArgs({ options: { minutes: { type: 'string' }, changes: { type: 'string' } } });
const minutes = Number(v.minutes ?? 3);
const changeCount = Number(v.changes ?? 5);
rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
const songPath = join(OUT, `song-${minutes}min.wav`);
await makeSong(songPath, { seconds: minutes * 60, seed: 1 });

const model = testModel('xumx-bench', 512);
const engine = createEngine({ modelDirs: [model.root], allowTestModels: true, cache: { dir: join(OUT, 'cache') } });
const request = (controls: Partial<SeparationControls> = {}): SeparateRequest => ({
  input: songPath,
  outDir: join(OUT, 'stems'),
  modelId: model.id,
  ep: 'cpu',
  controls,
});
const ok = (r: SeparationResult) => {
  if (!r.ok) throw new Error(r.error.message);
  return r;
};
const loadBefore = loadavg()[0];
const t0 = performance.now();
const first = ok(await engine.separate(request()));
const separationSeconds = (performance.now() - t0) / 1000;
const rate = first.sampleRate;
const BLOCK = 2 * rate;

const round = (x: number) => Math.round(x * 1000) / 1000;
/** Seconds until the block's samples are here; `given`: the request is given up at once. */
const block = async (controls: Partial<SeparationControls>, start: number, signal?: AbortSignal) => {
  const t = performance.now();
  const r = await engine.renderRegion(request(controls), { start, frames: BLOCK }, signal ? { signal } : {});
  if (!r.ok && r.error.code !== 'CANCELLED') throw new Error(r.error.message);
  return round((performance.now() - t) / 1000);
};

const changes = [];
for (let i = 0; i < changeCount; i++) {
  const controls: Partial<SeparationControls> = { strength: { vocals: 0.5 + 0.3 * i } };
  const playhead = Math.round((0.1 + (0.6 * i) / Math.max(1, changeCount - 1)) * first.duration * rate);
  const t = performance.now();
  const firstBlock = block(controls, playhead);
  // The whole song waits for the block at the playhead, at most 1 s.
  await Promise.race([firstBlock, new Promise((r) => setTimeout(r, 1000))]);
  const rerender = engine.separate(request(controls));
  const nextBlocks = [];
  for (let b = 1; b <= 3; b++) nextBlocks.push(await block(controls, playhead + b * BLOCK));
  const given = new AbortController();
  const abandoned = block(controls, playhead + 10 * BLOCK, given.signal);
  given.abort();
  const afterSeek = await block(controls, playhead + 15 * BLOCK);
  await abandoned;
  ok(await rerender);
  changes.push({
    playheadSeconds: round(playhead / rate),
    firstBlock: await firstBlock,
    nextBlocks,
    afterSeek,
    rerenderSeconds: round((performance.now() - t) / 1000),
  });
}
await engine.dispose();
rmSync(join(OUT, 'stems'), { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  JSON.stringify(
    {
      machine: {
        cpus: cpus().length,
        cpu: cpus()[0]?.model,
        loadAverage1m: { before: loadBefore, after: loadavg()[0] },
      },
      model: { id: model.id, hidden: 512, weights: 'random (speed only)' },
      song: { seconds: first.duration },
      firstSeparationSeconds: round(separationSeconds),
      changes,
      medianFirstBlock: median(changes.map((c) => c.firstBlock)),
      medianNextBlock: median(changes.flatMap((c) => c.nextBlocks)),
      medianAfterSeek: median(changes.map((c) => c.afterSeek)),
      medianRerenderSeconds: median(changes.map((c) => c.rerenderSeconds)),
    },
    null,
    2,
  ),
);
