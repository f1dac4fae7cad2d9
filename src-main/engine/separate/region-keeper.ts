// What parts of one song rendered one after another share (a player asks for a 2-second block at a time while the
// song re-renders): the model found, the cache entry's header (or the network and the estimates it gave last), the
// prepared song and the chunks rendered last. Found
// again for every part, they cost a model scan, a cache lookup and a song lookup, each waiting behind the engine
// thread's other work. Kept for one song while its files stay the same (`stamp`), let go when the engine turns to
// another song, lets the song go, or nobody asks for a while.
import type { InstalledModel } from '../model/registry.ts';
import type { PreparedSong } from './pipeline.ts';
import { KeptChunks, type PartSource } from './region.ts';

/** Without a part asked for this long (ms), the kept song is let go (its prepared samples may be held only here). */
export const REGION_KEEP_MS = 20_000;

export interface KeptSong {
  input: string;
  modelId: string | undefined;
  /** The song's and the model folders' file identities when this was found; other ones: found again. */
  stamp: string;
  installed: InstalledModel;
  /**
   * The cache entry's header and where its records are (its file closed: records are read by path), or the network
   * when the cache does not hold the song.
   */
  source: PartSource;
  /** Held (retained) until the kept song is let go. */
  song: PreparedSong;
}

export class RegionKeeper {
  private kept: KeptSong | null = null;
  private chunks: { controls: string; kept: KeptChunks } | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly idleMs = REGION_KEEP_MS) {}

  /** The song kept for `input` with this model, if there is one (its stamp is for the caller to check). */
  find(input: string, modelId: string | undefined): KeptSong | undefined {
    const k = this.kept;
    return k && k.input === input && k.modelId === modelId ? k : undefined;
  }

  /** Keeps `song`, letting go of what was kept before; the caller's hold on song.song passes to the keeper. */
  keep(song: KeptSong): Promise<void> {
    const before = this.forget();
    this.kept = song;
    this.touch();
    return before;
  }

  /**
   * The chunks kept for `song` with these controls (a key of them); other controls (a newer render) start afresh.
   * A song no longer the one kept (another was kept meanwhile) gets chunks of its own that nobody keeps.
   */
  chunksFor(song: KeptSong, controls: string): KeptChunks {
    if (song !== this.kept) return new KeptChunks();
    if (this.chunks?.controls !== controls) this.chunks = { controls, kept: new KeptChunks() };
    this.touch();
    return this.chunks.kept;
  }

  /** Lets go of what is kept (for `input` only, when given); its prepared song goes when no one else holds it. */
  forget(input?: string): Promise<void> {
    const k = this.kept;
    if (!k || (input !== undefined && k.input !== input)) return Promise.resolve();
    this.kept = null;
    this.chunks = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    return k.song.song.release().catch(() => {});
  }

  /** The kept song's input, or null. */
  get input(): string | null {
    return this.kept?.input ?? null;
  }

  private touch(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.forget(), this.idleMs);
    this.timer.unref?.();
  }
}
