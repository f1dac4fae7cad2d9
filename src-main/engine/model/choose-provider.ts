// Which execution provider a model runs on. A provider other than the CPU is used only when a warm-up run agrees with
// the CPU's output, and under `auto` only when it is also faster than the CPU on this machine: a GPU provider can be
// many times slower for a recurrent network (WebGPU dispatches every LSTM step on its own), and `auto` promises the
// fastest provider that gives the right answer. Kept apart from onnxruntime so the rule can be tested without a GPU.
import type { EpName, EpSkip, EpTiming } from '../types.ts';
import { WARMUP_TOLERANCE, relativeDifference } from './providers.ts';

/** A session as the choice needs it: a warm-up output, a timed run on the provider's own chunk plan, a release. */
export interface CandidateSession {
  probe(): Promise<Float32Array>;
  /** One provider's time for a network run of `batch` chunks of `frames` frames (its own chunk plan). */
  time(): Promise<EpTiming>;
  release(): Promise<void>;
}

export interface ChooseDeps<S extends CandidateSession> {
  /** The CPU session, always open: the reference every other provider is checked and timed against. */
  cpu: S;
  /** The CPU's warm-up output. */
  reference: Float32Array;
  /** Candidates in order (cpu last); for `auto` several, for an explicit choice one. */
  order: EpName[];
  /** Whether to time the candidates against the CPU (`auto` only: an explicit choice is the user's to make). */
  timeAgainstCpu: boolean;
  /** A reason the provider cannot work here known without trying it, or null. */
  knownUnavailable(ep: EpName): string | null;
  /** Opens the provider's session (throws with onnxruntime's reason). */
  open(ep: EpName): Promise<S>;
  /** onnxruntime's failure, in words for a user. */
  explain(ep: EpName, err: unknown): string;
}

export interface Choice<S> {
  /** null when no candidate works (only possible for an explicit choice: `auto` ends with the CPU). */
  chosen: { ep: EpName; session: S } | null;
  skipped: EpSkip[];
  /** The CPU's and each timed candidate's times, in the order measured; empty when nothing was timed. */
  timings: EpTiming[];
}

/** Seconds per frame of network input: providers are compared on their own chunk plans. */
export const perFrame = (t: EpTiming) => t.seconds / (t.batch * t.frames);

const describe = (t: EpTiming) =>
  `${t.seconds.toFixed(3)} s for ${t.batch} × ${t.frames} frames (${(perFrame(t) * 1e6).toFixed(1)} µs a frame)`;

/** The first candidate that works and, when timed, beats the CPU; with the reasons every other one was passed over. */
export async function chooseProvider<S extends CandidateSession>(deps: ChooseDeps<S>): Promise<Choice<S>> {
  const skipped: EpSkip[] = [];
  const timings: EpTiming[] = [];
  let cpuTime: EpTiming | null = null;
  for (const ep of deps.order) {
    if (ep === 'cpu') return { chosen: { ep, session: deps.cpu }, skipped, timings };
    const known = deps.knownUnavailable(ep);
    if (known) {
      skipped.push({ ep, reason: known.startsWith(`${ep}:`) ? known : `${ep}: ${known}` });
      continue;
    }
    let session: S | null = null;
    try {
      session = await deps.open(ep);
      const diff = relativeDifference(deps.reference, await session.probe());
      if (!(diff <= WARMUP_TOLERANCE)) {
        skipped.push({
          ep,
          reason: `${ep}: its warm-up result differs from the CPU's by ${diff.toExponential(2)} (allowed ${WARMUP_TOLERANCE})`,
        });
        await session.release().catch(() => {});
        continue;
      }
      if (deps.timeAgainstCpu) {
        cpuTime ??= await deps.cpu.time();
        if (!timings.includes(cpuTime)) timings.push(cpuTime);
        const own = await session.time();
        timings.push(own);
        if (!(perFrame(own) < perFrame(cpuTime))) {
          skipped.push({
            ep,
            reason: `${ep}: slower than the CPU on this machine (${describe(own)}; the CPU ${describe(cpuTime)})`,
          });
          await session.release().catch(() => {});
          continue;
        }
      }
      return { chosen: { ep, session }, skipped, timings };
    } catch (err) {
      await session?.release().catch(() => {});
      skipped.push({ ep, reason: deps.explain(ep, err) });
    }
  }
  return { chosen: null, skipped, timings };
}
