// MP4/M4A/MOV (AAC, ALAC, Opus, FLAC), raw AAC (ADTS) and Matroska/WebM (Opus, Vorbis, FLAC) through libav
// (libav.ts). As with the other compressed readers, the container's own structure is checked first (mp4-boxes.ts,
// ebml-layout.ts, adts-frames.ts) so that a file cut short is TRUNCATED and not quietly shorter. Gapless playback
// data decides the exact length: libav applies an MP4 edit list's start and Opus pre-skip and end trimming; the
// end of an edit list, and iTunSMPB where libav does not, are applied here (readMp4).
import { audioError, printable } from './audio-error.ts';
import { walkAdtsFrames } from './adts-frames.ts';
import { VORBIS_TO_WAV, type CompressedAudio } from './compressed-readers.ts';
import { readEbmlLayout } from './ebml-layout.ts';
import { decodeContainer, decodePackets, LibavError, type LibavAudioStream, type LibavPieces } from './libav.ts';
import { readMp4Layout } from './mp4-boxes.ts';

export type MediaCodec = 'aac' | 'alac' | 'opus' | 'vorbis' | 'flac';

export interface MediaAudio extends CompressedAudio {
  codec: MediaCodec;
}

// FFmpeg 6.1's codec ids (libavcodec/codec_id.h) for the codecs we accept inside MP4 and Matroska.
const ACCEPTED: Record<number, MediaCodec> = {
  86018: 'aac',
  86032: 'alac',
  86076: 'opus',
  86021: 'vorbis',
  86028: 'flac',
};
const CODEC_NAMES: Record<number, string> = {
  86016: 'MPEG audio layer 2',
  86017: 'MP3',
  86019: 'Dolby Digital (AC-3)',
  86020: 'DTS',
  86024: 'WMA',
  86056: 'Dolby Digital Plus (E-AC-3)',
  86060: 'Dolby TrueHD',
  86065: 'MPEG-4 ALS',
  73728: 'AMR',
};
const MP4_CODEC_NAMES: Record<string, string> = {
  'ac-3': 'Dolby Digital (AC-3)',
  'ec-3': 'Dolby Digital Plus (E-AC-3)',
  'ac-4': 'Dolby AC-4',
  samr: 'AMR',
  sawb: 'AMR-WB',
  dtsc: 'DTS',
  dtsh: 'DTS-HD',
  mha1: 'MPEG-H 3D audio',
  '.mp3': 'MP3',
  ulaw: 'µ-law',
  alaw: 'A-law',
};
const SUPPORTED = 'AAC, ALAC, FLAC, Opus and Vorbis';
// A declared Matroska duration runs to the end of the last block; decoders may hand out a block less (Vorbis
// blocks are up to 2048 samples, Opus frames up to 120 ms).
const MATROSKA_LENGTH_SLACK_S = 0.25;
// +18 dB over full scale: lossy coding of a loud master overshoots by a few dB at most.
const MAX_LOSSY_PEAK = 8;

export async function readMp4(path: string, b: Uint8Array): Promise<MediaAudio> {
  const layout = readMp4Layout(b);
  if (!layout.ok) throw audioError(layout.cut ? 'TRUNCATED' : 'DECODE_FAILED', path, layout.detail);
  if (!layout.audio) throw audioError('NOT_AUDIO', path, 'this MP4/MOV file holds no audio track');
  const track = layout.audio;
  let codec: MediaCodec = 'aac';
  let streamSeconds: number | null = null;
  const pieces = await decodeOrFail(path, () =>
    decodeContainer(b, (s) => {
      codec = acceptStream(path, s, MP4_CODEC_NAMES[track.codec] ?? `the "${printable(track.codec)}" codec`);
      streamSeconds = s.ok ? s.durationSeconds : null;
    }),
  );
  // FFmpeg's mov demuxer skips an edit list's lead-in, and in some layouts iTunSMPB's delay (mp4-boxes.ts says
  // when); the rest is done here: the delay where it did not, and the padding after the last real sample.
  let start = 0;
  let length = pieces.frames;
  const gapless = layout.gapless;
  if (gapless && !track.hasEditStart && codec === 'aac') {
    start = gapless.skippedByDemuxer ? 0 : Math.min(gapless.delay, length);
    length =
      gapless.frames > 0 ? Math.min(gapless.frames, length - start) : Math.max(0, length - start - gapless.padding);
  } else if (streamSeconds !== null && !layout.fragmented) {
    length = Math.min(length, Math.round(streamSeconds * pieces.sampleRate));
  }
  const notices: string[] = [];
  if (layout.stemFile)
    notices.push('a stem file: separated its mixture (the first audio track); the stems stored in it were not used');
  return { ...finish(path, pieces, start, length, codec), notices, codec };
}

export async function readMatroska(path: string, b: Uint8Array): Promise<MediaAudio> {
  const layout = readEbmlLayout(b);
  if (!layout.ok) throw audioError(layout.cut ? 'TRUNCATED' : 'DECODE_FAILED', path, layout.detail);
  let codec: MediaCodec = 'opus';
  const kind = layout.docType === 'webm' ? 'WebM' : 'Matroska';
  const pieces = await decodeOrFail(path, () =>
    decodeContainer(b, (s) => {
      if (!s.ok && s.reason === 'no-audio')
        throw audioError('NOT_AUDIO', path, `this ${kind} file holds no audio track`);
      codec = acceptStream(path, s, 'its audio codec');
    }),
  );
  const decodedSeconds = pieces.frames / (pieces.sampleRate || 1);
  // The declared duration covers every track: only an audio-only file must fill it.
  if (
    pieces.streams === 1 &&
    layout.durationSeconds !== null &&
    decodedSeconds < layout.durationSeconds - MATROSKA_LENGTH_SLACK_S
  ) {
    throw audioError(
      'DECODE_FAILED',
      path,
      `the audio stops after ${decodedSeconds.toFixed(2)} s of the ${layout.durationSeconds.toFixed(2)} s the ${kind} file declares; the rest is damaged`,
    );
  }
  const notices = layout.segmentSizeKnown
    ? []
    : [`the ${kind} file was written live (no length in its header); decoded to the end of the file`];
  return { ...finish(path, pieces, 0, pieces.frames, codec), notices, codec };
}

export async function readAdts(path: string, b: Uint8Array, first: number): Promise<MediaAudio> {
  const walk = walkAdtsFrames(b, first);
  if (walk.cutMidFrame)
    throw audioError(
      'TRUNCATED',
      path,
      `the file ends in the middle of an AAC frame, after ${walk.frames.length} whole frames`,
    );
  if (walk.damagedBytes > 0) {
    throw audioError(
      'DECODE_FAILED',
      path,
      `${walk.damagedBytes} bytes of damaged data in the AAC stream (first at byte ${walk.firstDamageAt})`,
    );
  }
  if (walk.frames.length === 0) throw audioError('ZERO_LENGTH_AUDIO', path, 'the AAC stream holds no frames');
  const pieces = await decodeOrFail(path, () => decodePackets('aac', walk.frames));
  const notices = [
    "raw AAC (ADTS) does not record the encoder delay, so the audio keeps the encoder's lead-in (usually 1024 or 2112 samples of silence) as every player does",
  ];
  if (walk.trailingBytes > 0)
    notices.push(`ignored ${walk.trailingBytes} bytes of non-audio data at the end of the AAC stream`);
  return { ...finish(path, pieces, 0, pieces.frames, 'aac'), notices, codec: 'aac' };
}

function acceptStream(path: string, s: LibavAudioStream, unsupportedName: string): MediaCodec {
  if (!s.ok && s.reason === 'no-audio') throw audioError('NOT_AUDIO', path, 'this file holds no audio track');
  const accepted = s.codecId !== undefined ? ACCEPTED[s.codecId] : undefined;
  if (!s.ok || !accepted) {
    const name = (s.codecId !== undefined && CODEC_NAMES[s.codecId]) || unsupportedName;
    throw audioError(
      'UNSUPPORTED_CODEC',
      path,
      `the file holds ${name}, which is not supported; in MP4, MOV, Matroska and WebM files ${SUPPORTED} are`,
    );
  }
  return accepted;
}

async function decodeOrFail(path: string, run: () => Promise<LibavPieces>): Promise<LibavPieces> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof LibavError) throw audioError('DECODE_FAILED', path, err.message, err);
    throw err;
  }
}

/** Joins the decoded pieces into whole channels in WAV order, keeping frames [start, start + length). */
function finish(path: string, p: LibavPieces, start: number, length: number, codec: MediaCodec): CompressedAudio {
  if (length <= 0 || p.channelCount === 0)
    throw audioError('ZERO_LENGTH_AUDIO', path, 'the stream is valid but holds no audio samples');
  const channels = Array.from({ length: p.channelCount }, () => new Float32Array(length));
  let at = 0; // position of the current piece in the decoded stream
  for (const piece of p.pieces) {
    const n = piece[0].length;
    const from = Math.max(start, at);
    const to = Math.min(start + length, at + n);
    if (to > from)
      for (let c = 0; c < p.channelCount; c++) channels[c].set(piece[c].subarray(from - at, to - at), from - start);
    at += n;
    piece.length = 0;
  }
  // Lossy decoders fed damaged frames may hand out values thousands of times full scale instead of failing.
  if (codec === 'aac' || codec === 'opus' || codec === 'vorbis') {
    let peak = 0;
    for (const c of channels)
      for (let i = 0; i < c.length; i++) {
        const v = Math.abs(c[i]);
        if (v > peak) peak = v;
      }
    if (!(peak <= MAX_LOSSY_PEAK)) {
      throw audioError(
        'DECODE_FAILED',
        path,
        `the decoded audio reaches ${(20 * Math.log10(peak)).toFixed(0)} dB over full scale: the stream is damaged`,
      );
    }
  }
  // FFmpeg's libvorbis wrapper hands out Vorbis' own channel order (its libopus and AAC decoders, WAV order).
  const map = codec === 'vorbis' ? VORBIS_TO_WAV[channels.length] : undefined;
  return { sampleRate: p.sampleRate, channels: map ? map.map((i) => channels[i]) : channels, notices: [] };
}
