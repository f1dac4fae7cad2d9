// toStereo: any channel count → the two channels the separation model takes. Pure.
// Input order is WAV/SMPTE (decode.ts guarantees it for every codec). 3–8 channels are folded with the
// ITU-R BS.775 coefficients (centre and surrounds at −3 dB, LFE dropped). Gains are not normalised: the
// float path has headroom, and a fold that changed level with the channel count would surprise people
// comparing a stem with the original; loud surround mixes can exceed 1.0 until a writer clips them.
// Other counts (9 or more) use a plain fallback: channels 1, 3, 5… average into left, 2, 4, 6… into right,
// the way interleaved stereo pairs are usually laid out.

const C = Math.SQRT1_2; // −3 dB

/** Per layout (WAV order), the gains of each input channel into [left, right]. */
const FOLDS: Record<number, { name: string; gains: [number, number][] }> = {
  // L R C
  3: {
    name: '3.0',
    gains: [
      [1, 0],
      [0, 1],
      [C, C],
    ],
  },
  // FL FR BL BR
  4: {
    name: 'quad',
    gains: [
      [1, 0],
      [0, 1],
      [C, 0],
      [0, C],
    ],
  },
  // FL FR FC BL BR
  5: {
    name: '5.0',
    gains: [
      [1, 0],
      [0, 1],
      [C, C],
      [C, 0],
      [0, C],
    ],
  },
  // FL FR FC LFE BL BR
  6: {
    name: '5.1',
    gains: [
      [1, 0],
      [0, 1],
      [C, C],
      [0, 0],
      [C, 0],
      [0, C],
    ],
  },
  // FL FR FC LFE BC SL SR
  7: {
    name: '6.1',
    gains: [
      [1, 0],
      [0, 1],
      [C, C],
      [0, 0],
      [0.5, 0.5],
      [C, 0],
      [0, C],
    ],
  },
  // FL FR FC LFE BL BR SL SR
  8: {
    name: '7.1',
    gains: [
      [1, 0],
      [0, 1],
      [C, C],
      [0, 0],
      [C, 0],
      [0, C],
      [C, 0],
      [0, C],
    ],
  },
};

export function toStereo(channels: Float32Array[]): { channels: [Float32Array, Float32Array]; notice?: string } {
  const n = channels.length;
  if (n === 0) throw new RangeError('toStereo needs at least one channel');
  if (n === 1)
    return {
      channels: [channels[0], channels[0].slice()],
      notice: 'mono input: the one channel is used for left and right',
    };
  if (n === 2) return { channels: [channels[0], channels[1]] };
  const frames = channels[0].length;
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  const fold = FOLDS[n];
  const gains: [number, number][] = fold
    ? fold.gains
    : channels.map((_, i) => (i % 2 === 0 ? [1 / Math.ceil(n / 2), 0] : [0, 1 / Math.floor(n / 2)]));
  for (let c = 0; c < n; c++) {
    const [gl, gr] = gains[c];
    const src = channels[c];
    if (gl !== 0) for (let i = 0; i < frames; i++) left[i] += gl * src[i];
    if (gr !== 0) for (let i = 0; i < frames; i++) right[i] += gr * src[i];
  }
  const how = fold ? `as ${fold.name} (ITU-R BS.775, LFE dropped)` : '(odd channels averaged to left, even to right)';
  return { channels: [left, right], notice: `downmixed ${n} channels to stereo ${how}` };
}
