// `separate --preset ID --mix`: besides the stems, the mix the preset is meant to be heard with (its muted stems
// left out, the others at its gains), written next to the stems as `<song>.<preset>.mix.<ext>`. The sum is the
// app's "Export mix" one (mixStems over the written stems), and the file is written atomically like a stem: to a
// temporary name, renamed into place only when complete.
import { dirname, join } from 'node:path';
import { mixStems } from '../api/mix.ts';
import {
  asXumxError,
  type DecodedAudio,
  decodeFile,
  type DspKernels,
  mixTags,
  type Preset,
  presetGains,
  resolvePreset,
  songName,
  writeAudioFile,
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
    const stems: DecodedAudio[] = [];
    // The first stem's tags name the mix.
    for (const s of sources) stems.push(await decodeFile(req.stems[s], { tags: stems.length === 0 }));
    const mix = mixStems(
      stems,
      sources.map((s) => gains[s]),
    );
    const notices = await writeAudioFile(path, mix.channels, {
      format: req.format,
      bitDepth: req.bitDepth,
      sampleRate: mix.sampleRate,
      channels: mix.channels.length,
      tags: mixTags(stems[0]?.tags ?? {}, req.title, req.preset.id),
      kernels: req.kernels,
    });
    return { path, gains, notices };
  } catch (err) {
    // Decode and write errors already name their file; anything else is about the mix.
    throw asXumxError(err, path);
  }
}
