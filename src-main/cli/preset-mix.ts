// `separate --preset ID --mix`: besides the stems, the mix the preset is meant to be heard with (its muted stems
// left out, the others at its gains), written next to the stems as `<song>.<preset>.mix.<ext>`. It is made as the
// app's "Export mix" is (export-audio.ts): the written stems read back a piece at a time and mixed block by block, so a
// long song's mix holds about a block of each stem; the file is written atomically like a stem: to a temporary name,
// renamed into place only when complete.
import { dirname, join } from 'node:path';
import { mixExport, writeExport } from '../api/export-audio.ts';
import {
  asXumxError,
  createStemWriter,
  decodeStream,
  type DspKernels,
  mixTags,
  type Preset,
  presetGains,
  resolvePreset,
  songName,
} from '../engine/index.ts';
import type { BitDepth, OutputFormat } from '../engine/types.ts';

const EXT: Record<OutputFormat, string> = { wav: 'wav', flac: 'flac', mp3: 'mp3' };

export interface PresetMixRequest {
  /** The song as given on the command line; names the mix file. */
  input: string;
  /** Source → written stem file, as the engine reports them. */
  stems: Record<string, string>;
  preset: Preset;
  format: OutputFormat;
  bitDepth: BitDepth;
  /** The song's title from its tags: the mix is titled "<title> (<preset id>)". */
  title?: string;
  /** This thread's DSP kernels, for the integer samples; absent: the JavaScript reference (the same bytes). */
  kernels?: DspKernels;
}

export interface PresetMixFile {
  path: string;
  /** Linear gain each stem went into the mix with (0 = left out). */
  gains: Record<string, number>;
  notices: string[];
}

/** Where the mix goes: the stems' folder, `<song>.<preset id>.mix.<ext>`. */
export function presetMixPath(
  input: string,
  stems: Record<string, string>,
  presetId: string,
  format: OutputFormat,
): string {
  const folder = dirname(Object.values(stems)[0]);
  return join(folder, `${songName(input)}.${presetId}.mix.${EXT[format]}`);
}

/** Reads the written stems back, mixes them at the preset's gains and writes the mix. Errors name the file. */
export async function writePresetMix(req: PresetMixRequest): Promise<PresetMixFile> {
  const sources = Object.keys(req.stems);
  const gains = presetGains(resolvePreset(req.preset, sources), sources);
  const path = presetMixPath(req.input, req.stems, req.preset.id, req.format);
  try {
    const audio = await mixExport(
      sources.map((s) => req.stems[s]),
      sources.map((s) => gains[s]),
      {},
      decodeStream,
    );
    // The first stem's tags name the mix.
    const writer = await writeExport(audio, path, () =>
      createStemWriter(path, {
        format: req.format,
        bitDepth: req.bitDepth,
        sampleRate: audio.sampleRate,
        channels: audio.channels,
        tags: mixTags(audio.tags, req.title, req.preset.id),
        kernels: req.kernels,
      }),
    );
    return { path, gains, notices: writer.notices };
  } catch (err) {
    // Decode and write errors already name their file; anything else is about the mix.
    throw asXumxError(err, path);
  }
}
