// Collects what the analysis needs while a separation writes its stems, at the analysis rate, so no stem is kept
// whole: drums + bass for the rhythm (onsets without the sustained chords), drums alone to take out of the mix for
// the harmony (chroma without the cymbals' noise). A model without those stems is analysed from the mix alone.
import type { SongAnalysis } from '../types.ts';
import { Decimator } from './decimate.ts';
import { analyzeSong } from './index.ts';

/** A song kept elsewhere (a file), read in stretches so it is never whole in memory. */
export interface MixReader {
  readonly frames: number;
  read(start: number, length: number): Promise<Float32Array[]>;
}

const MIX_READ_FRAMES = 1 << 18;

export class StemTap {
  private readonly rhythm: Decimator | null;
  private readonly drums: Decimator | null;
  private readonly drumsAt: number;
  private readonly bassAt: number;

  /** stems: the separation's stem names in the order add() numbers them; rate: the rate they come at. */
  constructor(
    stems: readonly string[],
    private readonly rate: number,
  ) {
    this.drumsAt = stems.indexOf('drums');
    this.bassAt = stems.indexOf('bass');
    const usable = this.drumsAt >= 0 && this.bassAt >= 0;
    this.rhythm = usable ? new Decimator(rate) : null;
    this.drums = usable ? new Decimator(rate) : null;
  }

  private drumsPart: Float32Array[] | null = null;
  private bassPart: Float32Array[] | null = null;

  /**
   * A stem's finished samples for the next stretch of the song (the separation hands every stem the same stretch,
   * in order). Drums and bass of one stretch go in together, summed for the rhythm.
   */
  add(stem: number, channels: Float32Array[]): void {
    if (!this.rhythm || !this.drums) return;
    if (stem === this.drumsAt) this.drumsPart = channels.map((c) => c.slice());
    else if (stem === this.bassAt) this.bassPart = channels.map((c) => c.slice());
    else return;
    if (!this.drumsPart || !this.bassPart) return;
    const drums = this.drumsPart;
    const bass = this.bassPart;
    this.drumsPart = this.bassPart = null;
    this.drums.push(drums);
    this.rhythm.push(
      drums.map((c, ch) => {
        const sum = new Float32Array(c.length);
        for (let i = 0; i < c.length; i++) sum[i] = c[i] + (bass[ch]?.[i] ?? 0);
        return sum;
      }),
    );
  }

  /** mix: the song as separated (the model's rate, any channels), read a stretch at a time. */
  async analyze(mix: MixReader): Promise<SongAnalysis | null> {
    const decimator = new Decimator(this.rate);
    for (let at = 0; at < mix.frames; at += MIX_READ_FRAMES)
      decimator.push(await mix.read(at, Math.min(MIX_READ_FRAMES, mix.frames - at)));
    const mixed = decimator.finish();
    if (!this.rhythm || !this.drums) return analyzeSong({ rhythm: mixed, harmony: mixed });
    const drums = this.drums.finish().samples;
    const harmony = new Float32Array(mixed.samples.length);
    for (let i = 0; i < harmony.length; i++) harmony[i] = mixed.samples[i] - (drums[i] ?? 0);
    return analyzeSong({ rhythm: this.rhythm.finish(), harmony: { rate: mixed.rate, samples: harmony } });
  }
}
