// The end of one stem's stream: 44.1 kHz chunks in → resampled back to the input's rate → cut to exactly the
// input's length → (heard by a listening copy) → at the asked tempo and key, if any → the stem writer. Streaming, so
// a stem never exists whole in memory.
import type { StemWriter } from '../audio/stem-writer.ts';
import type { StreamingResampler } from '../dsp/resample.ts';
import type { TimePitchStream } from '../dsp/time-pitch.ts';

export class StemSink {
  private written = 0;
  private released = false;

  /** `resampler` is null when the input already is at the network's rate. */
  constructor(
    private readonly writer: StemWriter,
    private readonly resampler: StreamingResampler | null,
    /** The input's length in samples at its own rate: the stem's length. */
    private readonly length: number,
    private readonly channelCount: number,
    /** null writes the stem at the song's tempo and key. */
    private readonly timePitch: TimePitchStream | null = null,
    /** Hears the stem's final samples at the song's rate and tempo (a listening copy); null: nobody listens. */
    private readonly listen: ((planar: Float32Array[]) => void | Promise<void>) | null = null,
  ) {}

  async write(planar: Float32Array[]): Promise<void> {
    await this.emit(this.resampler ? this.resampler.process(planar) : planar);
  }

  /** Drains the resampler and pads a stem that came out a sample or two short (resampler rounding). */
  async finish(): Promise<void> {
    if (this.resampler) await this.emit(this.resampler.flush());
    const missing = this.length - this.written;
    if (missing > 0) await this.emit(Array.from({ length: this.channelCount }, () => new Float32Array(missing)));
    const tail = this.timePitch?.finish();
    if (tail?.[0].length) await this.writer.write(tail);
    this.release();
    await this.writer.close();
  }

  get notices(): readonly string[] {
    return this.writer.notices;
  }

  async abort(): Promise<void> {
    this.release();
    await this.writer.abort();
  }

  private release(): void {
    if (!this.released) this.resampler?.destroy();
    this.released = true;
  }

  private async emit(planar: Float32Array[]): Promise<void> {
    const n = Math.min(planar[0]?.length ?? 0, this.length - this.written);
    if (n <= 0) return;
    const cut = n === planar[0].length ? planar : planar.map((ch) => ch.subarray(0, n));
    this.written += n;
    if (this.listen) await this.listen(cut);
    const out = this.timePitch ? this.timePitch.process(cut) : cut;
    if (out[0].length) await this.writer.write(out);
  }
}
