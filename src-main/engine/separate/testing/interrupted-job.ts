// A job in a child process that stops at a chosen point and waits there to be killed (SIGKILL), for the tests of
// what a killed job leaves behind. Prints "paused" once it waits; "done" when the job ended before that point.
//   interrupted-job.ts commit <out> <input> <step> <source…>
//     writes the new stems' temporary files, then commits them and stops after the step-th rename or removal
//   interrupted-job.ts write <out> <input>
//     separates a generated song with a fake model and the real stem writers, and stops half-way through
import fs from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { createStemWriter } from '../../audio/stem-writer.ts';
import { StemOutputs } from '../outputs.ts';
import { separateFile } from '../pipeline.ts';
import { fakeModel, testSignal } from './fakes.ts';

const [mode, out, input, ...rest] = process.argv.slice(2);
const waitForKill = () => {
  process.stdout.write('paused\n');
  return new Promise<never>(() => setInterval(() => {}, 60_000));
};

if (mode === 'commit') {
  const [step, ...sources] = rest;
  const outputs = await StemOutputs.create(out, input, sources, 'wav');
  for (const s of sources) await writeFile(outputs.tempPath(s), `new ${s}`);
  // Every file-system step that changes names counts, through the same bindings the engine imports.
  let steps = 0;
  const p = fs.promises as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const name of ['rename', 'unlink', 'rm', 'rmdir']) {
    const original = p[name];
    p[name] = async (...a: unknown[]) => {
      const r = await original(...a);
      if (++steps === Number(step)) await waitForKill();
      return r;
    };
  }
  syncBuiltinESMExports();
  await outputs.commit();
} else if (mode === 'write') {
  let runs = 0;
  const model = fakeModel(
    ['a', 'b'],
    () => 0.5,
    async () => {
      if (++runs === 3) await waitForKill();
    },
  );
  await separateFile(
    {
      input,
      outDir: out,
      format: 'wav',
      bitDepth: 24,
      controls: { wienerIterations: 0, softmask: false, residual: false },
      segments: { segmentFrames: 32, overlapFrames: 4, batch: 2 },
    },
    model,
    { decode: async () => ({ sampleRate: 44100, channels: testSignal(44100 * 5), notices: [] }), createStemWriter },
  );
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write('done\n');
