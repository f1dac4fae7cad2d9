// Streaming, atomic stem files. Bytes go to a hidden temporary file next to the target, named after this process
// (temp-files.ts: a later job removes it if this process is killed); `close()` patches
// the header, syncs and renames it onto `path`. Any failure — or `abort()` — removes the temporary file, so
// nothing partial is ever found at `path`. WAV output is capped at 4 GiB (RIFF's 32-bit sizes): past that
// the writer stops with ENCODE_FAILED and a message suggesting FLAC.
import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { XumxError, type ErrorCode } from '../errors.ts';
import { tempPathFor } from '../temp-files.ts';
import { BIT_DEPTHS, OUTPUT_FORMATS, type BitDepth } from '../types.ts';
import { audioError } from './audio-error.ts';
import { outputError } from '../output-error.ts';
import { createResampler, type StreamingResampler } from '../dsp/resample.ts';
import {
  createSampleEncoder,
  encodableSampleRate,
  EncoderSettingError,
  type EncoderOptions,
  type SampleEncoder,
} from './sample-encoders.ts';

export interface StemWriterOptions extends EncoderOptions {
  /**
   * The path errors name when `path` is itself a temporary name: the engine writes each stem under one and
   * renames them into place together (outputs.ts), but a full disk is about the stem.
   */
  shownAs?: string;
}

/** A streaming encoder into one file, written atomically (its own temporary name, renamed on close). */
export interface StemWriter {
  /** Appends frames: one Float32Array per channel, all the same length. */
  write(planar: Float32Array[]): Promise<void>;
  /** Finishes the file and moves it to its final path. */
  close(): Promise<void>;
  /** Drops everything written so far; safe to call at any time, also after a failure. */
  abort(): Promise<void>;
  /** What the user may want to know about the written file (clipping, bit-depth changes), complete once closed. */
  readonly notices: string[];
}

/** How the pipeline opens its stem writers: createStemWriter, or an in-memory fake in tests. */
export type StemWriterFactory = (path: string, opts: StemWriterOptions) => Promise<StemWriter>;

export async function createStemWriter(target: string, opts: StemWriterOptions): Promise<StemWriter> {
  const path = opts.shownAs ?? target;
  checkOptions(path, opts);
  const notices: string[] = [];
  const bitDepth: BitDepth = opts.format === 'flac' && opts.bitDepth === '32f' ? 24 : opts.bitDepth;
  if (bitDepth !== opts.bitDepth) notices.push('FLAC has no 32-bit float; wrote 24-bit FLAC');
  const sampleRate = encodableSampleRate(opts.format, opts.sampleRate);
  let resampler: RateChange | null = null;
  if (sampleRate !== opts.sampleRate) {
    try {
      resampler = new RateChange(
        await createResampler(opts.sampleRate, sampleRate, opts.channels),
        opts.sampleRate,
        sampleRate,
      );
    } catch (err) {
      throw audioError(
        'BAD_ARGUMENT',
        path,
        `cannot write ${opts.sampleRate} Hz as ${opts.format.toUpperCase()}: ${(err as Error).message}`,
        err,
      );
    }
    notices.push(`${opts.format.toUpperCase()} cannot store ${opts.sampleRate} Hz: written at ${sampleRate} Hz`);
  }
  let encoder: SampleEncoder;
  try {
    encoder = await createSampleEncoder({ ...opts, bitDepth, sampleRate });
  } catch (err) {
    resampler?.destroy();
    throw encodeError(path, err, err instanceof EncoderSettingError ? 'BAD_ARGUMENT' : 'ENCODE_FAILED');
  }
  const temp = tempPathFor(target);
  let fh: FileHandle;
  try {
    fh = await open(temp, 'wx');
  } catch (err) {
    try {
      encoder.finish();
    } catch {
      /* only frees the encoder */
    }
    resampler?.destroy();
    throw outputError(err, path);
  }
  return new AtomicStemWriter(
    path,
    target,
    temp,
    fh,
    encoder,
    resampler,
    opts.channels,
    notices,
    opts.format === 'wav' && bitDepth === '32f',
  );
}

/**
 * A stream brought to the rate the format stores: exactly round(frames in · to / from) frames come out, as a stem
 * must last as long as its song (the converter may end a sample or two off).
 */
class RateChange {
  private framesIn = 0;
  private framesOut = 0;
  private destroyed = false;

  constructor(
    private readonly resampler: StreamingResampler,
    private readonly from: number,
    private readonly to: number,
  ) {}

  process(planar: Float32Array[]): Float32Array[] {
    this.framesIn += planar[0]?.length ?? 0;
    return this.counted(this.resampler.process(planar));
  }

  flush(): Float32Array[] {
    const tail = this.resampler.flush();
    const left = Math.max(0, Math.round((this.framesIn * this.to) / this.from) - this.framesOut);
    return this.counted(
      tail.map((c) => {
        if (c.length >= left) return c.subarray(0, left);
        const padded = new Float32Array(left);
        padded.set(c);
        return padded;
      }),
    );
  }

  destroy(): void {
    if (!this.destroyed) this.resampler.destroy();
    this.destroyed = true;
  }

  private counted(planar: Float32Array[]): Float32Array[] {
    this.framesOut += planar[0]?.length ?? 0;
    return planar;
  }
}

/** One write and close; the file is never left half-written. */
export async function writeAudioFile(path: string, planar: Float32Array[], opts: StemWriterOptions): Promise<string[]> {
  const w = await createStemWriter(path, opts);
  try {
    await w.write(planar);
    await w.close();
  } catch (err) {
    await w.abort();
    throw err;
  }
  return w.notices;
}

class AtomicStemWriter implements StemWriter {
  private state: 'open' | 'closed' | 'aborted' = 'open';
  private queue: Promise<void> = Promise.resolve();
  /**
   * What the encoders turn into something else without counting it: float output keeps samples beyond ±1 and
   * writes NaN and ±∞ as silence; integer output writes NaN as silence (and counts ±∞ with the clipped samples).
   */
  private overs = 0;
  private silenced = 0;

  constructor(
    /** The path errors name. */
    private readonly path: string,
    private readonly target: string,
    private readonly temp: string,
    private readonly fh: FileHandle,
    private readonly encoder: SampleEncoder,
    /** Null when the format stores the song's rate. */
    private readonly resampler: RateChange | null,
    private readonly channels: number,
    readonly notices: string[],
    private readonly float: boolean,
  ) {}

  write(planar: Float32Array[]): Promise<void> {
    return this.serially(async () => {
      this.assertOpen();
      if (planar.length !== this.channels || planar.some((c) => c.length !== planar[0].length)) {
        throw audioError(
          'BAD_ARGUMENT',
          this.path,
          `expected ${this.channels} channels of equal length, got ${planar.map((c) => c.length).join('/') || 'none'}`,
        );
      }
      this.count(planar);
      await this.guard(() => this.encode(this.resampler ? this.resampler.process(planar) : planar));
    });
  }

  close(): Promise<void> {
    return this.serially(async () => {
      this.assertOpen();
      await this.guard(async () => {
        if (this.resampler) {
          await this.encode(this.resampler.flush());
          this.resampler.destroy();
        }
        const { tail, patches } = this.encoder.finish();
        for (const bytes of tail) await this.fh.write(bytes);
        for (const p of patches) await this.fh.write(p.bytes, 0, p.bytes.length, p.at);
        await this.fh.sync();
        await this.fh.close();
        await rename(this.temp, this.target);
      });
      this.state = 'closed';
      if (this.encoder.clipped > 0) this.notices.push(`clipped ${samples(this.encoder.clipped)} beyond full scale`);
      if (this.overs > 0)
        this.notices.push(`${samples(this.overs)} beyond full scale, kept as they are in 32-bit float`);
      if (this.silenced > 0)
        this.notices.push(
          `${samples(this.silenced)} not numbers (NaN${this.float ? ' or infinite' : ''}), written as silence`,
        );
    });
  }

  private async encode(planar: Float32Array[]): Promise<void> {
    if ((planar[0]?.length ?? 0) === 0) return;
    for (const bytes of this.encoder.encode(planar)) await this.fh.write(bytes);
  }

  private count(planar: Float32Array[]): void {
    for (const ch of planar) {
      for (let i = 0; i < ch.length; i++) {
        const a = Math.abs(ch[i]);
        if (a <= 1) continue;
        if (a !== a) this.silenced++;
        else if (this.float) {
          if (a === Infinity) this.silenced++;
          else this.overs++;
        }
      }
    }
  }

  abort(): Promise<void> {
    return this.serially(() => this.discard());
  }

  private assertOpen(): void {
    if (this.state !== 'open') throw audioError('INTERNAL', this.path, `the stem writer is already ${this.state}`);
  }

  /** Runs a step of the file work; on any failure removes the temporary file and throws an XumxError. */
  private async guard(step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      await this.discard();
      throw isFileSystemError(err) ? outputError(err, this.path) : encodeError(this.path, err, 'ENCODE_FAILED');
    }
  }

  private async discard(): Promise<void> {
    if (this.state === 'aborted') return;
    const wasOpen = this.state === 'open';
    this.state = 'aborted';
    this.resampler?.destroy();
    if (wasOpen) {
      try {
        this.encoder.finish();
      } catch {
        /* the encoder only needs its wasm memory back */
      }
      await this.fh.close().catch(() => undefined);
    }
    await unlink(this.temp).catch(() => undefined);
  }

  /** Calls run one after another even when the caller does not await each one. */
  private serially(step: () => Promise<void>): Promise<void> {
    const run = this.queue.then(step);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

const samples = (n: number) => `${n} sample${n === 1 ? '' : 's'}`;

function checkOptions(path: string, o: StemWriterOptions): void {
  const bad = (why: string) => audioError('BAD_ARGUMENT', path, why);
  if (!(OUTPUT_FORMATS as readonly string[]).includes(o.format)) throw bad(`unknown output format "${o.format}"`);
  if (!(BIT_DEPTHS as readonly unknown[]).includes(o.bitDepth)) throw bad(`unknown bit depth "${o.bitDepth}"`);
  if (!Number.isInteger(o.channels) || o.channels < 1 || o.channels > 65535)
    throw bad(`cannot write ${o.channels} channels`);
  if (!Number.isInteger(o.sampleRate) || o.sampleRate < 1)
    throw bad(`cannot write a sample rate of ${o.sampleRate} Hz`);
}

function encodeError(path: string, err: unknown, code: ErrorCode): XumxError {
  if (err instanceof XumxError) return err;
  return audioError(code, path, `cannot encode: ${(err as Error)?.message ?? String(err)}`, err);
}

/** An error from a file-system call (those carry the failed call's name), not e.g. a RangeError with a code. */
export function isFileSystemError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return typeof e?.code === 'string' && typeof e.syscall === 'string';
}

/** A file-system failure while writing `path`, as the error the user sees. */
