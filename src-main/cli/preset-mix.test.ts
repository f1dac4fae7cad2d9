import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WRITE_FRAMES } from '../api/export-audio.ts';
import { mixStems } from '../api/mix.ts';
import {
  type AudioTags,
  createStemWriter,
  type DecodedAudio,
  decodeFile,
  findPreset,
  loadDspKernels,
  mixTags,
  presetGains,
  resolvePreset,
  writeAudioFile,
} from '../engine/index.ts';
import type { BitDepth, OutputFormat } from '../engine/types.ts';
import { presetMixPath, type PresetMixRequest, writePresetMix } from './preset-mix.ts';

test('names a preset mix after the song as its stem folder is named: visible, never a hidden or dot-led file', () => {
  const stems = { vocals: '/out/wav/vocals.wav' };
  assert.equal(presetMixPath('/music/...wav', stems, 'karaoke', 'wav'), '/out/wav/wav.karaoke.mix.wav');
  assert.equal(presetMixPath('/music/ song .flac', stems, 'karaoke', 'flac'), '/out/wav/song.karaoke.mix.flac');
  assert.equal(presetMixPath('/music/Mix Song.mp3', stems, 'karaoke', 'mp3'), '/out/wav/Mix Song.karaoke.mix.mp3');
});

/** More than one of the export's 2^18-frame blocks, so that their seams are in every mix. */
const FRAMES = 300_000;
const SOURCES = ['vocals', 'drums', 'bass', 'other'];

/**
 * Stem files as the CLI writes them, read back by the real decoders: noise and tones, the bass mono and "other" a
 * little shorter than the rest (the mix pads it with silence), each with its own tags.
 */
async function stemsOnDisk(dir: string, rate: number): Promise<Record<string, string>> {
  const stems: Record<string, string> = {};
  let seed = 5;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.6;
  for (const [k, s] of SOURCES.entries()) {
    const frames = s === 'other' ? FRAMES - 1234 : FRAMES;
    const tone = (hz: number) =>
      Float32Array.from({ length: frames }, (_, i) => 0.4 * Math.sin((2 * Math.PI * hz * i) / rate) + noise());
    const channels = s === 'bass' ? [tone(55)] : [tone(220 * (k + 1)), tone(330 * (k + 1))];
    const tags: AudioTags = { title: `song - ${s}`, artist: 'The Stems', track: k + 1 };
    stems[s] = join(dir, `${s}.wav`);
    await writeAudioFile(stems[s], channels, {
      format: 'wav',
      bitDepth: '32f',
      sampleRate: rate,
      channels: channels.length,
      tags,
    });
  }
  return stems;
}

/**
 * The preset mix as it was written before it read the stems a piece at a time, kept as the reference: every stem
 * decoded whole and mixed with mixStems, written in one go, or (`writeFrames`) given to the writer that many frames at
 * a time, as the app's "Export mix" does.
 */
async function wholeStemMix(out: string, req: PresetMixRequest, writeFrames = Infinity): Promise<string[]> {
  const sources = Object.keys(req.stems);
  const gains = presetGains(resolvePreset(req.preset, sources), sources);
  const stems: DecodedAudio[] = [];
  for (const s of sources) stems.push(await decodeFile(req.stems[s], { tags: stems.length === 0 }));
  const mix = mixStems(
    stems,
    sources.map((s) => gains[s]),
  );
  const writer = await createStemWriter(out, {
    format: req.format,
    bitDepth: req.bitDepth,
    sampleRate: mix.sampleRate,
    channels: mix.channels.length,
    tags: mixTags(stems[0]?.tags ?? {}, req.title, req.preset.id),
    kernels: req.kernels,
  });
  const length = mix.channels[0].length;
  for (let at = 0; at < length; at += writeFrames)
    await writer.write(mix.channels.map((c) => c.subarray(at, at + writeFrames)));
  await writer.close();
  return writer.notices;
}

describe('a preset mix', () => {
  test('is the very bytes of the mix of whole stems: every format, muted and quieter stems, the kernels', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-preset-mix-'));
    const kernels = await loadDspKernels();
    const cases: { format: OutputFormat; bitDepth: BitDepth; preset: string; rate?: number; kernels?: boolean }[] = [
      { format: 'wav', bitDepth: 16, preset: 'karaoke' },
      { format: 'wav', bitDepth: 16, preset: 'practice-bass', kernels: true },
      { format: 'wav', bitDepth: 24, preset: 'a-cappella' },
      { format: 'wav', bitDepth: '32f', preset: 'practice-vocals' },
      { format: 'flac', bitDepth: 16, preset: 'drumless' },
      { format: 'flac', bitDepth: 24, preset: 'bassless', kernels: true },
      { format: 'mp3', bitDepth: 16, preset: 'karaoke' },
      // MP3 does not store 96 kHz: the writer resamples the mix to 48 kHz.
      { format: 'mp3', bitDepth: 16, preset: 'practice-drums', rate: 96_000 },
    ];
    const stemsAt: Record<number, Record<string, string>> = {};
    for (const [n, c] of cases.entries()) {
      const rate = c.rate ?? 44100;
      stemsAt[rate] ??= await stemsOnDisk(await mkdtemp(join(dir, `${rate}-`)), rate);
      const req: PresetMixRequest = {
        input: `/music/song ${n}.flac`,
        stems: stemsAt[rate],
        preset: findPreset(c.preset)!,
        format: c.format,
        bitDepth: c.bitDepth,
        title: 'Song',
        ...(c.kernels ? { kernels } : {}),
      };
      const what = `${c.preset} as ${c.format} ${c.bitDepth} at ${rate} Hz${c.kernels ? ' on the kernels' : ''}`;
      const ref = join(dir, `reference-${n}`);
      const mix = await writePresetMix(req);
      // 16-bit WAV and MP3 step their dither's generator channel by channel within each write, so their noise
      // follows how the mix is cut for the writer: theirs are the bytes of the mix written a block at a time (as the
      // app's "Export mix" writes it), not in one go. The other formats are the same either way.
      const dithered = c.format === 'mp3' || (c.format === 'wav' && c.bitDepth === 16);
      for (const writeFrames of dithered ? [WRITE_FRAMES] : [WRITE_FRAMES, Infinity]) {
        const notices = await wholeStemMix(ref, req, writeFrames);
        const how = `${what}, written ${writeFrames === Infinity ? 'whole' : 'a block at a time'}`;
        assert.ok((await readFile(mix.path)).equals(await readFile(ref)), how);
        assert.deepEqual(mix.notices, notices, `the notices of ${how}`);
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  test('stops at a stem damaged part-way with its file and reason, and leaves no mix, whole or partial', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-preset-mix-'));
    const stems = await stemsOnDisk(dir, 44100);
    // The drums as FLAC cut short: its header and first frames read, its end missing.
    const drums = join(dir, 'drums.flac');
    const { channels } = await decodeFile(stems.drums);
    await writeAudioFile(drums, channels, { format: 'flac', bitDepth: 24, sampleRate: 44100, channels: 2 });
    await truncate(drums, Math.round((await stat(drums)).size * 0.7));
    await rm(stems.drums);
    const before = (await readdir(dir)).sort();
    const req: PresetMixRequest = {
      input: '/music/song.flac',
      stems: { ...stems, drums },
      preset: findPreset('practice-vocals')!,
      format: 'wav',
      bitDepth: 24,
    };
    await assert.rejects(writePresetMix(req), (e: { code: string; message: string; file?: string }) => {
      assert.equal(e.code, 'TRUNCATED', e.message);
      assert.equal(e.file, drums);
      assert.ok(e.message.startsWith(`${drums}: `), e.message);
      return true;
    });
    assert.deepEqual((await readdir(dir)).sort(), before, 'no mix file and no temporary one');
    await rm(dir, { recursive: true, force: true });
  });
});
