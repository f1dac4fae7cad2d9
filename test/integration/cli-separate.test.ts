// The CLI end to end on generated fixtures: every input format, rate and channel layout, the --json document,
// folders, mixture consistency and exit codes. Uses a random-weight test network (fast, "test_only").
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile } from '../../src-main/engine/audio/decode.ts';
import { SONG_MARK } from '../../src-main/engine/separate/stem-folder.ts';
import { ffmpegFixture, hasFfmpeg } from '../fixtures/audio.ts';
import { filesUnder, runCli, tempDir } from './helpers/cli.ts';
import { canBuildModels, testModel } from './helpers/models.ts';

const skip = !canBuildModels()
  ? 'needs /usr/bin/python3 with torch and onnx'
  : !hasFfmpeg()
    ? 'needs ffmpeg for fixtures'
    : false;
const SOURCES = ['bass', 'drums', 'vocals', 'other'];
// Short chunks so that three-second fixtures already go through several crossfades.
const env = { XUMX_STUDIO_SEGMENTS: '32,4,4' };

interface Fixture {
  name: string;
  seconds: number;
  sampleRate: number;
  channels: number;
  codecArgs: string[];
  container: string;
}
const FIXTURES: Fixture[] = [
  {
    name: 'stereo.wav',
    seconds: 3,
    sampleRate: 44100,
    channels: 2,
    codecArgs: ['-c:a', 'pcm_s16le'],
    container: 'wav',
  },
  { name: 'mono.wav', seconds: 2, sampleRate: 44100, channels: 1, codecArgs: ['-c:a', 'pcm_s16le'], container: 'wav' },
  {
    name: 'hires48k.wav',
    seconds: 2,
    sampleRate: 48000,
    channels: 2,
    codecArgs: ['-c:a', 'pcm_s24le'],
    container: 'wav',
  },
  {
    name: 'surround51.wav',
    seconds: 2,
    sampleRate: 44100,
    channels: 6,
    codecArgs: ['-c:a', 'pcm_s16le'],
    container: 'wav',
  },
  {
    name: 'lossy.mp3',
    seconds: 2,
    sampleRate: 44100,
    channels: 2,
    codecArgs: ['-c:a', 'libmp3lame', '-b:a', '192k'],
    container: 'mp3',
  },
  { name: 'lossless.flac', seconds: 2, sampleRate: 44100, channels: 2, codecArgs: ['-c:a', 'flac'], container: 'flac' },
  {
    name: 'vorbis.ogg',
    seconds: 2,
    sampleRate: 44100,
    channels: 2,
    codecArgs: ['-c:a', 'libvorbis'],
    container: 'ogg',
  },
  {
    name: 'speechy.opus',
    seconds: 2,
    sampleRate: 48000,
    channels: 2,
    codecArgs: ['-c:a', 'libopus', '-b:a', '96k'],
    container: 'opus',
  },
  { name: 'daw.aiff', seconds: 2, sampleRate: 48000, channels: 2, codecArgs: ['-c:a', 'pcm_s24be'], container: 'aiff' },
  {
    name: 'bought.m4a',
    seconds: 2,
    sampleRate: 44100,
    channels: 2,
    codecArgs: ['-c:a', 'aac', '-b:a', '256k'],
    container: 'ipod',
  },
  { name: 'library.m4a', seconds: 2, sampleRate: 44100, channels: 2, codecArgs: ['-c:a', 'alac'], container: 'ipod' },
  {
    name: 'video-site.webm',
    seconds: 2,
    sampleRate: 48000,
    channels: 2,
    codecArgs: ['-c:a', 'libopus', '-b:a', '128k'],
    container: 'webm',
  },
  {
    name: 'archive.mka',
    seconds: 2,
    sampleRate: 44100,
    channels: 2,
    codecArgs: ['-c:a', 'libvorbis'],
    container: 'matroska',
  },
  { name: 'raw.aac', seconds: 2, sampleRate: 44100, channels: 2, codecArgs: ['-c:a', 'aac'], container: 'adts' },
];

describe('xumx-studio separate', { skip }, () => {
  let models: string;
  let inputs: string;
  let out: string;
  let doc: { files: any[] };
  let code: number | null;

  before(async () => {
    models = testModel().root;
    inputs = tempDir('inputs');
    for (const f of FIXTURES) ffmpegFixture(join(inputs, f.name), f);
    out = tempDir('out');
    const run = await runCli(
      [
        'separate',
        ...FIXTURES.map((f) => join(inputs, f.name)),
        '--out',
        out,
        '--models-dir',
        models,
        '--ep',
        'cpu',
        '--json',
      ],
      { env },
    );
    code = run.code;
    doc = JSON.parse(run.stdout);
  });

  test('exits 0 when every file is separated', () => {
    assert.equal(code, 0);
    assert.equal(doc.files.length, FIXTURES.length);
  });

  for (const f of FIXTURES) {
    test(`${f.name}: four stems at the input's rate and exact length, stereo`, async () => {
      const input = join(inputs, f.name);
      const r = doc.files.find((x) => x.input === input);
      assert.ok(r?.ok, JSON.stringify(r));
      const source = await decodeFile(input);
      assert.equal(r.sampleRate, source.sampleRate);
      assert.ok(Math.abs(r.duration - source.channels[0].length / source.sampleRate) < 1e-9);
      assert.deepEqual(Object.keys(r.stems).sort(), [...SOURCES].sort());
      for (const s of SOURCES) {
        assert.equal(r.stems[s], join(out, f.name.replace(/\.[^.]+$/, ''), `${s}.wav`));
        const stem = await decodeFile(r.stems[s]);
        assert.equal(stem.sampleRate, source.sampleRate);
        assert.equal(stem.channels.length, 2);
        assert.equal(stem.channels[0].length, source.channels[0].length);
      }
    });
  }

  test('--json gives the published document: provider, skipped providers with reasons, stage timings', () => {
    for (const r of doc.files) {
      assert.deepEqual(Object.keys(r), [
        'input',
        'ok',
        'stems',
        'sampleRate',
        'duration',
        'ep',
        'epSkipped',
        'epTimings',
        'timings',
        'notices',
        'controls',
      ]);
      assert.deepEqual(
        r.controls,
        { wienerIterations: 1, softmask: false, residual: false },
        'the model recommends none',
      );
      assert.equal(r.ep, 'cpu');
      assert.deepEqual(r.epSkipped, []); // --ep cpu tries nothing else
      assert.deepEqual(r.epTimings, []); // an explicit provider is not timed against the CPU
      assert.deepEqual(Object.keys(r.timings), ['decode', 'stft', 'network', 'wiener', 'istft', 'encode']);
      for (const t of Object.values(r.timings)) assert.ok(typeof t === 'number' && t >= 0);
    }
    // What a file's decoding had to say travels too: the downmix of a surround file, raw AAC's lead-in.
    const notices = (name: string) => (doc.files.find((x) => x.input.endsWith(name))!.notices as string[]).join(' | ');
    assert.match(notices('surround51.wav'), /downmix|channels/i);
    assert.match(notices('raw.aac'), /encoder delay/);
  });

  test('leaves no temporary files next to the stems', () => {
    // The song's mark is no temporary file: it stays so that the song finds its folder again.
    assert.deepEqual(
      filesUnder(out).filter((p) => p.split('/').some((part) => part.startsWith('.') && part !== SONG_MARK)),
      [],
    );
  });

  test('says in text mode that a 5.1 file was folded down to stereo, and names the provider', async () => {
    const o = tempDir('out-text');
    const run = await runCli(['separate', join(inputs, 'surround51.wav'), '--out', o, '--models-dir', models], { env });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /note: .*5\.1/i);
    assert.match(run.stdout, /on cpu/);
    assert.match(run.stdout, /skipped cuda: /); // auto on Linux without CUDA binaries tells why
  });

  test('separates every audio file of a folder, skipping other files', async () => {
    const folder = tempDir('album');
    ffmpegFixture(join(folder, 'one.wav'), FIXTURES[1]);
    ffmpegFixture(join(folder, 'two.flac'), FIXTURES[5]);
    writeFileSync(join(folder, 'cover.jpg'), 'not audio');
    const o = tempDir('out-folder');
    const run = await runCli(
      ['separate', folder, '--out', o, '--models-dir', models, '--format', 'flac', '--bit-depth', '24', '--json'],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    const files = JSON.parse(run.stdout).files;
    assert.deepEqual(
      files.map((f: any) => f.input),
      [join(folder, 'one.wav'), join(folder, 'two.flac')],
    );
    assert.ok(existsSync(join(o, 'one', 'vocals.flac')) && existsSync(join(o, 'two', 'other.flac')));
  });

  test('stems and residual sum back to the input within -60 dB', async () => {
    const o = tempDir('out-sum');
    const input = join(inputs, 'stereo.wav');
    const run = await runCli(
      ['separate', input, '--out', o, '--models-dir', models, '--residual', '--bit-depth', '32f', '--json'],
      { env },
    );
    assert.equal(run.code, 0, run.stderr);
    const r = JSON.parse(run.stdout).files[0];
    assert.deepEqual(Object.keys(r.stems).sort(), [...SOURCES, 'residual'].sort());
    const mix = (await decodeFile(input)).channels;
    const sum = mix.map((c) => new Float32Array(c.length));
    for (const path of Object.values(r.stems) as string[]) {
      const stem = (await decodeFile(path)).channels;
      for (let c = 0; c < 2; c++) for (let i = 0; i < sum[c].length; i++) sum[c][i] += stem[c][i];
    }
    let err = 0,
      pow = 0;
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < sum[c].length; i++) {
        err += (sum[c][i] - mix[c][i]) ** 2;
        pow += mix[c][i] ** 2;
      }
    const db = 10 * Math.log10(err / pow);
    assert.ok(db < -60, `mixture error ${db.toFixed(1)} dB`);
  });

  test('exits 1 when one of several files fails, and still separates the others', async () => {
    const o = tempDir('out-mixed');
    const bad = join(tempDir('bad'), 'notes.wav');
    writeFileSync(bad, 'just text, not audio '.repeat(50));
    const run = await runCli(
      ['separate', bad, join(inputs, 'mono.wav'), '--out', o, '--models-dir', models, '--json'],
      { env },
    );
    assert.equal(run.code, 1);
    const files = JSON.parse(run.stdout).files;
    assert.equal(files[0].ok, false);
    assert.equal(files[0].error.code, 'NOT_AUDIO');
    assert.equal(files[1].ok, true);
    assert.deepEqual(
      filesUnder(o).filter((p) => p.startsWith('notes')),
      [],
    );
  });

  test('exits 2 with a hint on a usage error', async () => {
    const run = await runCli(['separate', join(inputs, 'mono.wav'), '--format', 'aac', '--out', tempDir('x')]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--format must be one of wav, flac, mp3/);
    assert.match(run.stderr, /--help/);
  });

  test('models list shows the installed test network', async () => {
    const run = await runCli(['models', 'list', '--models-dir', models, '--json']);
    assert.equal(run.code, 0);
    assert.deepEqual(
      JSON.parse(run.stdout).models.map((m: any) => m.id),
      ['tiny-test'],
    );
  });

  test('--help describes every command', async () => {
    const run = await runCli(['--help']);
    assert.equal(run.code, 0);
    for (const s of [
      'separate',
      'models list',
      '--out',
      '--ep',
      '--format',
      '--bit-depth',
      '--wiener-iterations',
      '--json',
    ])
      assert.ok(run.stdout.includes(s), s);
  });
});
