// In-memory stand-ins for the engine and the codecs, so the service's queue, policy and export logic can be
// tested with plain arrays and no ONNX model.
import { join } from 'node:path';
import { controlsForModel, modelDefaultControls } from '../../engine/dsp/controls.ts';
import { ListeningCopy } from '../../engine/separate/listening-copy.ts';
import { songName } from '../../engine/separate/song-name.ts';
import type {
  ModelInfo,
  Region,
  RegionResult,
  SeparateRequest,
  SeparationControls,
  SeparationResult,
  SongAnalysis,
} from '../../engine/types.ts';
import type { AudioPort, DecodedAudio, EngineJobHooks, EnginePort } from '../ports.ts';

export const SOURCES = ['vocals', 'drums', 'bass', 'other'];

export class MemoryAudio implements AudioPort {
  readonly files = new Map<string, DecodedAudio>();
  /** What each stem file was written from, by path. */
  readonly stemFiles = new Map<
    string,
    { stemFiles: Record<string, string>; opts: Parameters<AudioPort['stemFileFromStemFiles']>[2] }
  >();

  async stemFileFromStemFiles(
    stemFiles: Record<string, string>,
    path: string,
    opts: Parameters<AudioPort['stemFileFromStemFiles']>[2],
  ): Promise<string[]> {
    this.stemFiles.set(path, { stemFiles, opts });
    return [];
  }

  decodeFile(path: string): DecodedAudio {
    const a = this.files.get(path);
    if (!a) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    return a;
  }

  /** The file in pieces of a few hundred frames, as a long file is read. */
  async decodeStream(path: string, opts: { tags?: boolean } = {}) {
    const { sampleRate, channels, tags } = this.decodeFile(path);
    const frames = channels[0]?.length ?? 0;
    async function* pieces() {
      for (let at = 0; at < frames; at += 256) yield channels.map((c) => c.slice(at, at + 256));
    }
    return { sampleRate, frames, ...(tags && opts.tags !== false ? { tags } : {}), pieces: pieces() };
  }

  createStemWriter(path: string, opts: { sampleRate: number; channels: number }) {
    const parts: Float32Array[][] = [];
    return {
      write: (planar: Float32Array[]) => void parts.push(planar.map((c) => c.slice())),
      close: () => {
        const channels = Array.from({ length: opts.channels }, (_, c) => {
          const len = parts.reduce((n, p) => n + p[c].length, 0);
          const out = new Float32Array(len);
          let o = 0;
          for (const p of parts) {
            out.set(p[c], o);
            o += p[c].length;
          }
          return out;
        });
        this.files.set(path, { sampleRate: opts.sampleRate, channels });
      },
      abort: () => {},
    };
  }
}

/**
 * Separates by writing stem k as a constant (k+1)/10 signal; waits on `gate` so tests can cancel mid-job. A region
 * is the same constants times the stem's strength (its left channel) and the frame index / 1e6 (its right channel),
 * from memory; `uncached` songs have no estimates to render one from. A job's listening copy holds what a region of
 * it would (fakeRender): its first half is written before the gate opens, the rest after.
 */
export class FakeEngine implements EnginePort {
  gate: Promise<void> = Promise.resolve();
  readonly requests: SeparateRequest[] = [];
  readonly regions: { request: SeparateRequest; region: Region; signal?: AbortSignal }[] = [];
  readonly uncached = new Set<string>();
  /** Songs separated before: their estimates come from the cache (unless `uncached`). */
  private readonly separated = new Set<string>();
  /** What the engine measured of the song, given with every result while set. */
  analysis: SongAnalysis | undefined;
  /** The fake model's recommended controls (its manifest's default_controls). */
  defaultControls: Partial<SeparationControls> | undefined;

  constructor(
    private readonly audio: MemoryAudio,
    private readonly length = 1000,
  ) {}

  private model(): { sources: string[]; defaultControls?: Partial<SeparationControls> } {
    return { sources: SOURCES, ...(this.defaultControls ? { defaultControls: this.defaultControls } : {}) };
  }

  async listModels(): Promise<ModelInfo[]> {
    return [
      {
        id: 'fake',
        name: 'Fake',
        architecture: 'x-umx',
        sources: SOURCES,
        sampleRate: 44100,
        license: 'MIT',
        provenance: 'test double',
        dir: '/models/fake',
        bundled: false,
        origin: 'imported',
        sizeOnDisk: 0,
        precision: 'float32',
        quality: [],
        defaultControls: modelDefaultControls(this.model()),
      },
    ];
  }

  async separate(req: SeparateRequest, hooks?: EngineJobHooks): Promise<SeparationResult> {
    this.requests.push(req);
    hooks?.onProgress?.({ fraction: 0.5, stage: 'network', etaSeconds: 1 });
    const half = Math.floor(this.length / 2);
    const copy = hooks?.listen
      ? await ListeningCopy.create(
          hooks.listen.path,
          Object.keys(fakeRender(req, 0, 0)),
          44100,
          this.length,
          hooks.listen.onReady,
        )
      : null;
    if (copy) await this.writeCopy(req, copy, 0, half);
    // Cancelled while the first half was written (its file is there from the start): no abort event comes then.
    await Promise.race([
      this.gate,
      new Promise((r) => (hooks?.signal?.aborted ? r(null) : hooks?.signal?.addEventListener('abort', r))),
    ]);
    const failed = hooks?.signal?.aborted ? 'CANCELLED' : req.input.endsWith('.txt') ? 'NOT_AUDIO' : null;
    if (failed) await copy?.abort();
    if (failed === 'CANCELLED')
      return { input: req.input, ok: false, error: { code: 'CANCELLED', message: `${req.input}: cancelled` } };
    if (failed === 'NOT_AUDIO')
      return { input: req.input, ok: false, error: { code: 'NOT_AUDIO', message: `${req.input}: not an audio file` } };
    if (copy) {
      await this.writeCopy(req, copy, half, this.length);
      await copy.finish();
    }
    const estimates = this.separated.has(req.input) && !this.uncached.has(req.input) ? 'cache' : 'network';
    this.separated.add(req.input);
    const stems: Record<string, string> = {};
    SOURCES.forEach((s, k) => {
      // The song's folder by name only: numbering same-named songs is the engine's (test/integration/stem-folders).
      const p = join(req.outDir, songName(req.input), `${s}.wav`);
      const ch = new Float32Array(this.length).fill((k + 1) / 10);
      this.audio.files.set(p, { sampleRate: 44100, channels: [ch, ch.slice()] });
      stems[s] = p;
    });
    return {
      input: req.input,
      ok: true,
      stems,
      sampleRate: 44100,
      duration: this.length / 44100,
      modelId: 'fake',
      ep: 'cpu',
      epSkipped: [{ ep: 'cuda', reason: 'no CUDA device' }],
      epTimings: [],
      timings: { decode: 0, stft: 0, network: 0, wiener: 0, istft: 0, encode: 0 },
      notices: [],
      controls: controlsForModel(req.controls, this.model(), req.controlsBase),
      estimates,
      ...(this.analysis ? { analysis: this.analysis } : {}),
    };
  }

  async renderRegion(req: SeparateRequest, region: Region, hooks?: { signal?: AbortSignal }): Promise<RegionResult> {
    this.regions.push({ request: req, region, ...(hooks?.signal ? { signal: hooks.signal } : {}) });
    await Promise.race([this.gate, new Promise((r) => hooks?.signal?.addEventListener('abort', r))]);
    if (hooks?.signal?.aborted)
      return { input: req.input, ok: false, error: { code: 'CANCELLED', message: `${req.input}: cancelled` } };
    if (this.uncached.has(req.input))
      return {
        input: req.input,
        ok: false,
        error: { code: 'NOT_CACHED', message: `${req.input}: not in the estimate cache` },
      };
    const start = Math.min(region.start, this.length);
    const frames = Math.min(region.frames, this.length - start);
    return { input: req.input, ok: true, sampleRate: 44100, start, frames, stems: fakeRender(req, start, frames) };
  }

  /** Frames [from, to) of the job's listening copy, written as the engine writes one. */
  private async writeCopy(req: SeparateRequest, copy: ListeningCopy, from: number, to: number): Promise<void> {
    const stems = Object.values(fakeRender(req, from, to - from));
    for (const [k, planar] of stems.entries()) await copy.add(k, planar);
  }

  /** Songs the service told the engine to let go of (releaseSong), in order. */
  readonly released: string[] = [];

  async releaseSong(input: string): Promise<void> {
    this.released.push(input);
  }

  dispose(): void {}
}

/** What the fake engine renders of frames [start, start + frames): per stem, its constant times its strength, and frame / 1e6. */
export function fakeRender(req: SeparateRequest, start: number, frames: number): Record<string, Float32Array[]> {
  const sources = req.controls?.residual ? [...SOURCES, 'residual'] : SOURCES;
  return Object.fromEntries(
    sources.map((s, k) => [
      s,
      [
        new Float32Array(frames).fill(((k + 1) / 10) * (req.controls?.strength?.[s] ?? 1)),
        Float32Array.from({ length: frames }, (_, i) => (start + i) / 1e6),
      ],
    ]),
  );
}
