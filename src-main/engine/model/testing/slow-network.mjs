// A stand-in for the network thread (network-worker.ts) with its timing: a run blocks the thread for `runMs`, as
// onnxruntime's does, and letting the session go takes `releaseMs`. Answers with zeros of the right size.
import { parentPort, workerData } from 'node:worker_threads';

const { model, runMs = 300, releaseMs = 300 } = workerData;
const port = parentPort;
port.postMessage({ type: 'opened', manifest: model.manifest, ep: 'cpu', epSkipped: [] });
port.on('message', async (msg) => {
  if (msg.type === 'dispose') {
    await new Promise((r) => setTimeout(r, releaseMs));
    port.postMessage({ type: 'disposed' });
    port.close();
    return;
  }
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, runMs);
  const output = new Float32Array(model.manifest.sources.length * msg.input.length);
  port.postMessage({ type: 'result', id: msg.id, output, seconds: runMs / 1000 }, [output.buffer]);
});
