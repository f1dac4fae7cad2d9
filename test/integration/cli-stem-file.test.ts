// `separate --format stem | stem-alac`: one Native Instruments stem file per song, the kind DJ software loads. It
// must hold five stereo tracks (the mix, then drums, bass, other, vocals) whose audio is the stems the app writes
// as WAV, the manifest where Mixxx and Traktor look for it (moov's first udta, box "stem"), and the song's tags.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { ffmpegDecode, hasFfmpeg, makeSong } from '../fixtures/audio.ts';
import { runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg and ffprobe'
    : false;
const ORDER = ['drums', 'bass', 'other', 'vocals'];

/** The manifest as a DJ program finds it: top-level moov, its first udta, the stem box in it. */
function manifestOf(file: Buffer): { version: number; stems: { name: string; color: string }[] } {
  const children = (from: number, to: number) => {
    const out: { type: string; body: number; end: number }[] = [];
    for (let at = from; at + 8 <= to; at += file.readUInt32BE(at))
      out.push({ type: file.toString('latin1', at + 4, at + 8), body: at + 8, end: at + file.readUInt32BE(at) });
    return out;
  };
  const moov = children(0, file.length).find((b) => b.type === 'moov')!;
  const udta = children(moov.body, moov.end).find((b) => b.type === 'udta')!;
  const stem = children(udta.body, udta.end).find((b) => b.type === 'stem');
  assert.ok(stem, 'the first udta in moov holds no stem box');
  return JSON.parse(file.toString('utf8', stem.body, stem.end));
}

function rmsOf(a: Float32Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i] * a[i];
  return Math.sqrt(s / n);
}

describe('xumx-studio separate --format stem', { skip }, () => {
  let models = '';
  let song = '';
  let reference: Record<string, Float32Array[]> = {};

  before(async () => {
    models = testModel().root;
    song = join(tempDir('song'), 'Club Track.wav');
    await makeSong(song, { seconds: 6, seed: 8, tags: { title: 'Club Track', artist: 'The DJs', year: 2025 } });
    // The same model on the same song as float WAV stems: what the stem file's tracks must hold.
    const out = tempDir('wav');
    const run = await runCli([
      'separate',
      song,
      '--out',
      out,
      '--models-dir',
      models,
      '--ep',
      'cpu',
      '--bit-depth',
      '32f',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    const stems = JSON.parse(run.stdout).files[0].stems as Record<string, string>;
    for (const s of ORDER) reference[s] = (await decodeFile(stems[s])).channels;
  });

  async function stemFile(...flags: string[]) {
    const out = tempDir('stemfile');
    const run = await runCli([
      'separate',
      song,
      '--out',
      out,
      '--models-dir',
      models,
      '--ep',
      'cpu',
      '--json',
      ...flags,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const [file] = JSON.parse(run.stdout).files;
    return { out, file, path: file.stemFile as string };
  }

  function tracks(path: string): Float32Array[][] {
    return [0, 1, 2, 3, 4].map((t) => {
      const raw = execFileSync('ffmpeg', ['-v', 'error', '-i', path, '-map', `0:a:${t}`, '-f', 'f32le', '-'], {
        maxBuffer: 1 << 28,
      });
      const inter = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
      return [0, 1].map((c) => Float32Array.from({ length: inter.length / 2 }, (_, i) => inter[2 * i + c]));
    });
  }

  test('ALAC: five lossless stereo tracks, the mix then drums, bass, other, vocals, equal to the WAV stems', async () => {
    const { out, file, path } = await stemFile('--format', 'stem-alac', '--bit-depth', '24');
    assert.equal(basename(path), 'Club Track.stem.mp4');
    assert.deepEqual(
      readdirSync(out).sort(),
      ['.Club Track.stem.mp4.xumx-song', 'Club Track.stem.mp4'],
      'nothing but the file and its mark is left in the output folder',
    );
    assert.deepEqual(file.stems, {}, 'the stems live in the stem file, not in files of their own');
    const probe = JSON.parse(
      execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', path]).toString(),
    );
    assert.deepEqual(
      probe.streams.map((s: { codec_name: string; channels: number }) => [s.codec_name, s.channels]),
      Array(5).fill(['alac', 2]),
    );
    assert.equal(probe.format.tags.title, 'Club Track');
    assert.equal(probe.format.tags.artist, 'The DJs');
    const t = tracks(path);
    const n = reference.drums[0].length;
    for (let k = 0; k < 4; k++) {
      for (let c = 0; c < 2; c++) {
        assert.equal(t[k + 1][c].length, n);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(t[k + 1][c][i] - reference[ORDER[k]][c][i]));
        assert.ok(worst <= 2 ** -23 + 1e-9, `${ORDER[k]} channel ${c} differs by ${worst}`);
      }
    }
    for (let c = 0; c < 2; c++) {
      let worst = 0;
      for (let i = 0; i < n; i++)
        worst = Math.max(worst, Math.abs(t[0][c][i] - ORDER.reduce((sum, s) => sum + reference[s][c][i], 0)));
      assert.ok(worst <= 3 * 2 ** -23, `the mix differs from the stems' sum by ${worst}`);
    }
  });

  test('AAC: the manifest names and colours the stems where DJ software reads it, and this app opens the mix', async () => {
    const { path } = await stemFile('--format', 'stem');
    const manifest = manifestOf(readFileSync(path));
    assert.equal(manifest.version, 1);
    assert.deepEqual(
      manifest.stems.map((s) => s.name),
      ['Drums', 'Bass', 'Other', 'Vocals'],
    );
    assert.ok(manifest.stems.every((s) => /^#[0-9A-F]{6}$/i.test(s.color)));
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', path]).toString());
    assert.deepEqual(
      probe.streams.map((s: { codec_name: string; channels: number }) => [s.codec_name, s.channels]),
      Array(5).fill(['aac', 2]),
    );
    // Lossy, so close rather than equal: each track follows its stem (256 kbit/s AAC).
    const t = tracks(path);
    const n = reference.drums[0].length;
    for (let k = 0; k < 4; k++) {
      const diff = Float32Array.from({ length: n }, (_, i) => t[k + 1][0][i] - reference[ORDER[k]][0][i]);
      assert.ok(
        rmsOf(diff, n) < 0.1 * rmsOf(reference[ORDER[k]][0], n),
        `${ORDER[k]}: residual ${rmsOf(diff, n)} vs ${rmsOf(reference[ORDER[k]][0], n)}`,
      );
    }
    // This app reads a stem file's mix at the song's exact length and says it is a stem file.
    const mix = await decodeFile(path);
    assert.equal(mix.channels[0].length, n);
    assert.ok(mix.notices.some((x) => x.includes('stem file')));
    assert.equal(mix.tags.title, 'Club Track');
    const original = ffmpegDecode(song, 2);
    const err = Float32Array.from({ length: n }, (_, i) => mix.channels[0][i] - original[0][i]);
    assert.ok(rmsOf(err, n) < 0.1 * rmsOf(original[0], n), 'the mix track is the song');
  });

  test('stem files take no --bit-depth (AAC) and no --mix', async () => {
    const out = tempDir('bad');
    assert.equal((await runCli(['separate', song, '--out', out, '--format', 'stem', '--bit-depth', '24'])).code, 2);
    assert.equal(
      (await runCli(['separate', song, '--out', out, '--format', 'stem', '--preset', 'karaoke', '--mix'])).code,
      2,
    );
  });
});

describe('xumx-studio separate --format stem into a folder that already holds stem files', { skip }, () => {
  let models = '';
  let songA = '';
  let songB = '';

  before(async () => {
    models = testModel().root;
    const dir = tempDir('same-named');
    [songA, songB] = [join(dir, 'a', 'song.wav'), join(dir, 'b', 'song.wav')];
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    await makeSong(songA, { seconds: 2, seed: 3 });
    await makeSong(songB, { seconds: 2, seed: 4 });
  });

  async function stemFileOf(song: string, out: string): Promise<string> {
    const run = await runCli([
      'separate',
      song,
      '--out',
      out,
      '--models-dir',
      models,
      '--ep',
      'cpu',
      '--format',
      'stem',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout).files[0].stemFile as string;
  }

  test("numbers the stem file of a different song of the same name and replaces only a song's own", async () => {
    const out = tempDir('numbered');
    const first = await stemFileOf(songA, out);
    assert.equal(basename(first), 'song.stem.mp4');
    const bytes = readFileSync(first);
    const second = await stemFileOf(songB, out);
    assert.equal(basename(second), 'song (2).stem.mp4');
    assert.deepEqual(readFileSync(first), bytes, "the first song's stem file is untouched");
    const inode = statSync(first).ino;
    const again = await stemFileOf(songA, out);
    assert.equal(again, first, 'the same song gets its own stem file back');
    assert.notEqual(statSync(first).ino, inode, 'and it was written anew');
    assert.deepEqual(
      readdirSync(out)
        .filter((f) => !f.startsWith('.'))
        .sort(),
      ['song (2).stem.mp4', 'song.stem.mp4'],
    );
  });

  test('never replaces a stem file it did not make', async () => {
    const out = tempDir('unmarked');
    writeFileSync(join(out, 'song.stem.mp4'), "the user's own file");
    assert.equal(basename(await stemFileOf(songA, out)), 'song (2).stem.mp4');
    assert.equal(readFileSync(join(out, 'song.stem.mp4'), 'utf8'), "the user's own file");
  });

  test('numbers the second of two same-named songs in one run', async () => {
    const out = tempDir('one-run');
    const run = await runCli([
      'separate',
      songA,
      songB,
      '--out',
      out,
      '--models-dir',
      models,
      '--ep',
      'cpu',
      '--format',
      'stem',
      '--json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(
      JSON.parse(run.stdout).files.map((f: { stemFile: string }) => basename(f.stemFile)),
      ['song.stem.mp4', 'song (2).stem.mp4'],
    );
  });
});
