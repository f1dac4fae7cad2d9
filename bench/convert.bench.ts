// Speed of the converted X-UMX graph against an equivalent torch.onnx export of the same architecture, both run
// by onnxruntime-node on the CPU with the same input. Prints one JSON document.
//   node --import tsx bench/convert.bench.ts [--batch 8] [--frames 256] [--runs 3]
// Needs Debian's python3 with h5py and torch (fixtures are random full-size networks, written to test-output/).
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { importNnablaXumx } from '../src-main/engine/convert/import-xumx.ts';
import { XUMX_OFFICIAL } from '../src-main/engine/convert/official.ts';

const root = new URL('..', import.meta.url).pathname;
const { values } = parseArgs({
  options: { batch: { type: 'string' }, frames: { type: 'string' }, runs: { type: 'string' } },
});
const batch = Number(values.batch ?? 8);
const frames = Number(values.frames ?? 256);
const runs = Number(values.runs ?? 3);
const work = join(root, 'test-output', 'bench-convert');
mkdirSync(work, { recursive: true });

function py(args: string[]): void {
  const r = spawnSync(
    '/usr/bin/python3',
    args.map((a, i) => (i === 0 ? join(root, a) : a)),
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`${args[0]}: ${r.stderr}`);
}

// Ours: nnabla-layout random weights converted in TypeScript.
py(['training/tools/nnabla_xumx_fixture.py', join(work, 'x-umx.h5'), '--seed', '1']);
const t0 = performance.now();
const ours = await importNnablaXumx({
  h5Path: join(work, 'x-umx.h5'),
  modelsDir: join(work, 'models'),
  source: XUMX_OFFICIAL,
});
const convertSeconds = (performance.now() - t0) / 1000;
// torch.onnx: the same architecture (training/xumx/model.py) exported by torch, via the asteroid converter.
py(['training/tools/asteroid_xumx_fixture.py', join(work, 'asteroid.bin'), '--seed', '1']);
py(['training/tools/convert_asteroid.py', join(work, 'asteroid.bin'), '--out', join(work, 'torch-export')]);

const input = new Float32Array(batch * 2 * 2049 * frames);
for (let i = 0; i < input.length; i++) input[i] = 3 * Math.random() ** 3;
const feeds = { mix_mag: new ort.Tensor('float32', input, [batch, 2, 2049, frames]) };

const sessions = {
  ours: await ort.InferenceSession.create(ours.onnxPath, { executionProviders: ['cpu'] }),
  torch: await ort.InferenceSession.create(join(work, 'torch-export', 'model.onnx'), { executionProviders: ['cpu'] }),
};
const times: Record<keyof typeof sessions, number[]> = { ours: [], torch: [] };
for (const s of Object.values(sessions)) await s.run(feeds); // warm-up
for (let r = 0; r < runs; r++) {
  // Alternate the order so neither graph always runs on a warmer machine.
  const order = (r % 2 === 0 ? ['ours', 'torch'] : ['torch', 'ours']) as (keyof typeof sessions)[];
  for (const k of order) {
    const t = performance.now();
    await sessions[k].run(feeds);
    times[k].push((performance.now() - t) / 1000);
  }
}
for (const s of Object.values(sessions)) await s.release();
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const oursS = median(times.ours);
const torchS = median(times.torch);
console.log(
  JSON.stringify(
    {
      bench: 'convert',
      device: `cpu (${availableParallelism()} threads available), onnxruntime-node ${ort.env.versions.common}`,
      input: { batch, frames, shape: [batch, 2, 2049, frames] },
      runs,
      convert_seconds: Number(convertSeconds.toFixed(2)),
      onnx_bytes: { ours: ours.size },
      seconds: {
        ours: times.ours.map((v) => Number(v.toFixed(3))),
        torch_onnx_export: times.torch.map((v) => Number(v.toFixed(3))),
      },
      median_seconds: { ours: Number(oursS.toFixed(3)), torch_onnx_export: Number(torchS.toFixed(3)) },
      speedup_vs_torch_export: Number((torchS / oursS).toFixed(3)),
    },
    null,
    2,
  ),
);
