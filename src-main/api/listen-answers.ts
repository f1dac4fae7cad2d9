// What a listening request is answered with: a block of a copy as a 32-bit float WAV, or a refusal that every door
// answers in the API's error form with its code's status (http-status.ts).
import type { ErrorCode } from '../engine/index.ts';

/** What a listening request is answered with; the doors answer a refusal in the error form (listenRefusalBody). */
export type ListenAnswer = { kind: 'audio'; wav: Buffer; from: number; frames: number } | ListenRefusal;

export type ListenRefusal =
  | { kind: 'bad-request'; message: string }
  | { kind: 'not-kept'; message: string }
  | { kind: 'not-ready'; message: string }
  | { kind: 'failed'; code: ErrorCode; message: string };

/** What a HEAD request is answered with: for frames the copy holds, the length in bytes of the WAV a GET gets. */
export type ListenHead = { kind: 'head'; bytes: number; from: number; frames: number } | ListenRefusal;

/** The codes of the refusals that are not failures, as the API's error form carries them. */
const REFUSAL_CODES: Record<Exclude<ListenRefusal['kind'], 'failed'>, ErrorCode> = {
  'bad-request': 'BAD_ARGUMENT',
  'not-kept': 'FILE_NOT_FOUND',
  'not-ready': 'NOT_READY',
};

/** A refusal in the API's error form, as every door answers it, with its code's status (http-status.ts). */
export function listenRefusalBody(r: ListenRefusal): { ok: false; error: { code: ErrorCode; message: string } } {
  return { ok: false, error: { code: r.kind === 'failed' ? r.code : REFUSAL_CODES[r.kind], message: r.message } };
}

/** A song never queued or removed, refused as every call about a job refuses it (BAD_ARGUMENT). */
export function unknownSong(jobId: string, removed?: string): ListenRefusal {
  const message = `no song with id ${jobId} in the queue`;
  return { kind: 'bad-request', message: removed === undefined ? message : `${message} (${removed} was removed)` };
}

/** Frames not final yet: the player asks again. */
export function notReady(name: string, why = 'not rendered yet'): ListenRefusal {
  return { kind: 'not-ready', message: `${name}: ${why}` };
}

/** `frames` frames of interleaved samples from frame `from`, `channels` wide, as the audio answer. */
export function audioAnswer(
  samples: Float32Array,
  channels: number,
  sampleRate: number,
  from: number,
  frames: number,
): ListenAnswer {
  return {
    kind: 'audio',
    wav: floatWav(Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength), channels, sampleRate),
    from,
    frames,
  };
}

/** The length in bytes of the WAV that holds `frames` frames of `channels` float channels. */
export function floatWavBytes(frames: number, channels: number): number {
  return WAV_HEADER_BYTES + frames * channels * 4;
}

const WAV_HEADER_BYTES = 44;

/**
 * A 32-bit float WAV (format 3) around interleaved samples. The plain 44-byte header puts the samples on a 4-byte
 * boundary, so a reader can view them as floats without copying.
 */
export function floatWav(data: Buffer, channels: number, sampleRate: number): Buffer {
  const header = Buffer.alloc(WAV_HEADER_BYTES);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(3, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * channels * 4, 28);
  header.writeUInt16LE(channels * 4, 32);
  header.writeUInt16LE(32, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}
