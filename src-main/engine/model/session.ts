// Opens a model for inference: checks the file (exists, size, sha256), picks and validates the execution provider,
// checks the ONNX signature against the contract and a tiny probe run, and wraps the session as a ModelRunner.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { XumxError } from '../errors.ts';
import type { EpChoice, EpName, EpSkip, EpTiming } from '../types.ts';
import { CONTRACT, type ModelManifest } from './manifest.ts';
import { candidates, explainEpFailure, knownUnavailable, ortBinDir } from './providers.ts';
import { chooseProvider, type CandidateSession } from './choose-provider.ts';
import { segmentsFor } from '../separate/segment-settings.ts';
import type { InstalledModel } from './registry.ts';

/** The network as the pipeline sees it: magnitudes in, per-source magnitudes out. */
export interface ModelRunner {
  readonly manifest: ModelManifest;
  readonly ep: EpName;
  readonly epSkipped: EpSkip[];
  /** `auto`'s timings of a GPU provider against the CPU, when it made them. */
  readonly epTimings: EpTiming[];
  /** input [batch, 2, 2049, frames] → output [sources, batch, 2, 2049, frames], both magnitudes. */
  run(input: Float32Array, batch: number, frames: number): Promise<Float32Array>;
  dispose(): Promise<void>;
  /**
   * Seconds the network spent in runs so far, when it counts them itself (a session on its own thread, whose runs
   * overlap the caller's work); null: the caller's waits for run() are the network's time.
   */
  busySeconds(): number | null;
}

export interface OpenOptions {
  ep?: EpChoice;
  platform?: NodeJS.Platform;
  /** onnxruntime intra-op threads; 0 lets onnxruntime pick (one per physical core). */
  threads?: number;
}

const INPUT = 'mix_mag';
const OUTPUT = 'est_mag';
const PROBE_FRAMES = 8;

ort.env.logLevel = 'fatal'; // failures come back as errors with reasons; onnxruntime's own log would only repeat them

/** Checks that the model's file exists, has the manifest's size and sha256. Returns its path. */
export async function verifyModelFile(model: InstalledModel): Promise<string> {
  const { manifest } = model;
  const path = join(model.dir, manifest.file);
  let size: number;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a file');
    size = st.size;
  } catch {
    throw new XumxError('MODEL_MISSING_FILE', `model "${manifest.id}": its network file ${path} is missing`, path);
  }
  if (size !== manifest.size) {
    throw new XumxError(
      'MODEL_CORRUPT',
      `model "${manifest.id}": ${path} has ${size} bytes, its manifest says ${manifest.size} (incomplete download or corrupt file)`,
      path,
    );
  }
  const digest = await sha256File(path);
  if (digest !== manifest.sha256) {
    throw new XumxError(
      'MODEL_CORRUPT',
      `model "${manifest.id}": ${path} is corrupt (sha256 ${digest.slice(0, 12)}… does not match the manifest's ${manifest.sha256.slice(0, 12)}…)`,
      path,
    );
  }
  return path;
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Compares the declared ONNX inputs/outputs with the contract; symbolic dimensions are accepted. */
export function checkSignature(
  inputs: readonly ort.InferenceSession.ValueMetadata[],
  outputs: readonly ort.InferenceSession.ValueMetadata[],
  manifest: ModelManifest,
  path: string,
): void {
  const bad = (reason: string) => new XumxError('MODEL_BAD_SHAPE', `model "${manifest.id}" (${path}): ${reason}`, path);
  const describe = (m: ort.InferenceSession.ValueMetadata) =>
    m.isTensor ? `${m.name} ${m.type} [${m.shape.join(', ')}]` : `${m.name} (not a tensor)`;
  const expectTensor = (
    list: readonly ort.InferenceSession.ValueMetadata[],
    name: string,
    want: (number | null)[],
    what: string,
  ) => {
    if (list.length !== 1 || list[0].name !== name) {
      throw bad(`expected exactly one ${what} "${name}", found ${list.map(describe).join('; ') || 'none'}`);
    }
    const meta = list[0];
    if (!meta.isTensor || meta.type !== 'float32')
      throw bad(`${what} "${name}" must be a float32 tensor, found ${describe(meta)}`);
    const wantText = `[${want.map((d) => d ?? '*').join(', ')}]`;
    if (meta.shape.length !== want.length)
      throw bad(`${what} "${name}" must have shape ${wantText}, found ${describe(meta)}`);
    want.forEach((d, i) => {
      const got = meta.shape[i];
      if (d !== null && typeof got === 'number' && got !== d) {
        throw bad(`${what} "${name}" must have shape ${wantText}, found ${describe(meta)}`);
      }
    });
  };
  const { channels, bins } = CONTRACT;
  expectTensor(inputs, INPUT, [null, channels, bins, null], 'input');
  expectTensor(outputs, OUTPUT, [manifest.sources.length, null, channels, bins, null], 'output');
}

/** A deterministic, music-like magnitude input for probes and warm-ups. */
export function probeInput(batch: number, frames: number): Float32Array {
  const x = new Float32Array(batch * CONTRACT.channels * CONTRACT.bins * frames);
  for (let i = 0; i < x.length; i++) x[i] = 0.05 + Math.abs(Math.sin(i * 0.618) * Math.cos(i * 0.0137)) * (1 + (i % 7));
  return x;
}

async function createSession(path: string, ep: EpName, threads: number): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(path, {
    executionProviders: [ep],
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4,
    // The arena would keep the largest batch's activations for the whole session: hundreds of MB held idle.
    enableCpuMemArena: false,
    // Integer weights (DequantizeLinear) are folded into float32 initializers once, at load: otherwise the CPU fuses
    // them into MatMulNBits that also quantizes the activations to int8 (5e-3 off the quantized network on the
    // bundled model's weights), and a GPU provider would meet integer operators it may not run. The file stays
    // small; the compute is the float network's. Float models have nothing to fold.
    extra: { session: { disable_quant_qdq: '1' } },
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
  });
}

async function runSession(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  path: string,
  input: Float32Array,
  batch: number,
  frames: number,
): Promise<Float32Array> {
  const { channels, bins } = CONTRACT;
  const feeds = { [INPUT]: new ort.Tensor('float32', input, [batch, channels, bins, frames]) };
  const result = await session.run(feeds);
  const out = result[OUTPUT];
  const want = [manifest.sources.length, batch, channels, bins, frames];
  if (!out || out.type !== 'float32' || out.dims.length !== want.length || out.dims.some((d, i) => d !== want[i])) {
    throw new XumxError(
      'MODEL_BAD_SHAPE',
      `model "${manifest.id}" (${path}): for input [${batch}, ${channels}, ${bins}, ${frames}] it returned ` +
        `${out ? `${out.type} [${out.dims.join(', ')}]` : 'no "est_mag"'}, expected float32 [${want.join(', ')}]`,
      path,
    );
  }
  return out.data as Float32Array;
}

/** Runs the probe, mapping onnxruntime's errors (a graph that cannot take the contract's shapes) to MODEL_BAD_SHAPE. */
async function probe(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  path: string,
  frames = PROBE_FRAMES,
): Promise<Float32Array> {
  let out: Float32Array;
  try {
    out = await runSession(session, manifest, path, probeInput(1, frames), 1, frames);
  } catch (err) {
    if (err instanceof XumxError) throw err;
    throw new XumxError(
      'MODEL_BAD_SHAPE',
      `model "${manifest.id}" (${path}): a probe run with input [1, 2, 2049, ${frames}] failed: ${(err as Error).message.split('\n')[0]}`,
      path,
    );
  }
  if (!out.every(Number.isFinite)) {
    throw new XumxError(
      'MODEL_BAD_SHAPE',
      `model "${manifest.id}" (${path}): a probe run returned NaN or infinite values`,
      path,
    );
  }
  return out;
}

interface Candidate extends CandidateSession {
  session: ort.InferenceSession;
}

/**
 * One network run of the provider's own chunk plan (batch × segment frames), after an untimed run (the first run of
 * a shape compiles and allocates). The faster of two timed runs: a run slowed by other work on the machine says
 * little about the provider.
 */
async function timeRun(
  session: ort.InferenceSession,
  manifest: ModelManifest,
  path: string,
  ep: EpName,
): Promise<EpTiming> {
  const { batch, segmentFrames: frames } = segmentsFor(ep);
  const input = probeInput(batch, frames);
  await runSession(session, manifest, path, input, batch, frames);
  let seconds = Infinity;
  for (let i = 0; i < 2; i++) {
    const t0 = performance.now();
    await runSession(session, manifest, path, input, batch, frames);
    seconds = Math.min(seconds, (performance.now() - t0) / 1000);
  }
  return { ep, batch, frames, seconds };
}

/**
 * Opens the model on the first execution provider that works here (choose-provider.ts: `auto` also times a GPU
 * provider against the CPU); an explicit provider that fails is EP_UNAVAILABLE with its reason.
 */
export async function openModel(model: InstalledModel, opts: OpenOptions = {}): Promise<ModelRunner> {
  const { manifest } = model;
  const platform = opts.platform ?? process.platform;
  const choice = opts.ep ?? 'auto';
  const threads = opts.threads ?? 0;
  const path = await verifyModelFile(model);

  let cpu: ort.InferenceSession;
  try {
    cpu = await createSession(path, 'cpu', threads);
  } catch (err) {
    throw new XumxError(
      'MODEL_CORRUPT',
      `model "${manifest.id}": onnxruntime cannot load ${path}: ${(err as Error).message.split('\n')[0]}`,
      path,
    );
  }
  checkSignature(cpu.inputMetadata, cpu.outputMetadata, manifest, path);
  const reference = await probe(cpu, manifest, path);

  const backends = ort.listSupportedBackends();
  const binDir = ortBinDir(platform);
  const candidate = (session: ort.InferenceSession, ep: EpName): Candidate => ({
    session,
    probe: () => probe(session, manifest, path),
    time: () => timeRun(session, manifest, path, ep),
    release: () => session.release(),
  });
  const cpuCandidate = candidate(cpu, 'cpu');
  const { chosen, skipped, timings } = await chooseProvider<Candidate>({
    cpu: cpuCandidate,
    reference,
    order: candidates(choice, platform),
    timeAgainstCpu: choice === 'auto',
    knownUnavailable: (ep) => knownUnavailable(ep, platform, backends, binDir),
    open: async (ep) => candidate(await createSession(path, ep, threads), ep),
    explain: explainEpFailure,
  });
  if (!chosen) {
    await cpu.release().catch(() => {});
    const why = skipped.map((s) => s.reason).join('; ');
    throw new XumxError('EP_UNAVAILABLE', `execution provider "${choice}" is not available: ${why}`);
  }
  if (chosen.session !== cpuCandidate) await cpu.release().catch(() => {});

  const session = chosen.session.session;
  return {
    manifest,
    ep: chosen.ep,
    epSkipped: skipped,
    epTimings: timings,
    run: (input, batch, frames) => runSession(session, manifest, path, input, batch, frames),
    dispose: () => session.release(),
    busySeconds: () => null,
  };
}
