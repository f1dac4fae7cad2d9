// What a Native Instruments stem file holds, as data: the four stems in the order DJ software expects them with
// the names and colours it shows, the JSON manifest it reads, and the codecs we write. No I/O here, so the
// renderer can use it too (stem-file.ts writes the files).
import type { BitDepth } from '../types.ts';

export const STEM_FILE_STEMS = [
  { source: 'drums', name: 'Drums', color: '#009E73' },
  { source: 'bass', name: 'Bass', color: '#D55E00' },
  { source: 'other', name: 'Other', color: '#CC79A7' },
  { source: 'vocals', name: 'Vocals', color: '#56B4E9' },
] as const;

/** The sources a separation needs for a stem file. */
export const STEM_FILE_SOURCES: readonly string[] = STEM_FILE_STEMS.map((s) => s.source);

export type StemFileCodec = { name: 'aac'; bitRate: number } | { name: 'alac'; bitDepth: 16 | 24 };

/** The codec a request names: AAC at 256 kbit/s, or ALAC at the bit depth asked for (32-bit float as 24-bit). */
export function stemFileCodec(kind: 'aac' | 'alac', bitDepth: BitDepth): { codec: StemFileCodec; notice?: string } {
  if (kind === 'aac') return { codec: { name: 'aac', bitRate: 256_000 } };
  if (bitDepth === '32f')
    return { codec: { name: 'alac', bitDepth: 24 }, notice: 'ALAC has no 32-bit float; wrote 24-bit ALAC' };
  return { codec: { name: 'alac', bitDepth } };
}

/**
 * The manifest (moov/udta/stem): version, the stems' names and colours, and the mastering effects switched off
 * (with the parameter set Native Instruments' own files carry, for readers that expect every field).
 */
export function stemManifest(): string {
  return JSON.stringify({
    version: 1,
    stems: STEM_FILE_STEMS.map((s) => ({ name: s.name, color: s.color })),
    mastering_dsp: {
      compressor: {
        enabled: false,
        ratio: 3,
        output_gain: 0.5,
        release: 0.3,
        attack: 0.003,
        input_gain: 0.5,
        threshold: 0,
        hp_cutoff: 300,
        dry_wet: 50,
      },
      limiter: { enabled: false, release: 0.05, threshold: 0, ceiling: -0.35 },
    },
  });
}
