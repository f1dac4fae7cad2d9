// What the service needs from the engine and the codecs, as narrow structural types. The real engine
// (src-main/engine/index.ts) and codec helpers (src-main/engine/audio/) satisfy them; tests pass fakes.
import type { AudioTags, StemFileCodec, StemStream, StemWriter, StemWriterOptions } from '../engine/index.ts';
import type {
  ListenCopyHooks,
  ModelInfo,
  PcmAudio,
  Progress,
  Region,
  RegionResult,
  SeparateRequest,
  SeparationResult,
} from '../engine/types.ts';

export interface EngineJobHooks {
  onProgress?(p: Progress): void;
  /** Also write the render into a listening copy as it becomes final. */
  listen?: ListenCopyHooks;
  signal?: AbortSignal;
}

export interface EnginePort {
  listModels(): Promise<ModelInfo[]>;
  /** Also re-renders with new controls: from the estimate cache when the engine has one. */
  separate(req: SeparateRequest, hooks?: EngineJobHooks): Promise<SeparationResult>;
  /**
   * A part of a song with new controls, from the estimate cache, or through the network for a song the cache does
   * not hold (NOT_CACHED from an engine without a cache): what a control change plays at the playhead before the full
   * re-render is done. Runs beside a running job, not after it.
   */
  renderRegion?(req: SeparateRequest, region: Region, hooks?: { signal?: AbortSignal }): Promise<RegionResult>;
  /** Lets go of what the engine keeps of a song for re-renders (its prepared samples): no re-render of it can come. */
  releaseSong?(input: string): Promise<void> | void;
  dispose(): Promise<void> | void;
}

export interface DecodedAudio extends PcmAudio {
  /** The song's tags, which exports copy into every file they write. */
  tags?: AudioTags;
}

/** The engine's StemWriter as exports use it: its methods (a fake may finish them at once), not its notices. */
export type StemWriterPort = {
  [K in 'write' | 'close' | 'abort']: (...args: Parameters<StemWriter[K]>) => ReturnType<StemWriter[K]> | void;
};

export type { StemStream };

export interface AudioPort {
  decodeFile(path: string, opts?: { tags?: boolean }): Promise<DecodedAudio> | DecodedAudio;
  /** The file's samples a piece at a time, for reading a long file in bounded memory. */
  decodeStream(path: string, opts?: { tags?: boolean }): Promise<StemStream>;
  createStemWriter(path: string, opts: StemWriterOptions): Promise<StemWriterPort> | StemWriterPort;
  /** Writes a Native Instruments stem file from a song's stem files (only `region`'s seconds when given); returns notices. */
  stemFileFromStemFiles(
    stemFiles: Record<string, string>,
    path: string,
    opts: {
      codec: StemFileCodec;
      songTitle?: string;
      region?: { start: number; end: number };
      /** Aborted: it stops with CANCELLED, writing nothing. */
      signal?: AbortSignal;
      /** How far the stems have been read, 0 to 1. */
      onProgress?: (fraction: number) => void;
    },
  ): Promise<string[]>;
}
