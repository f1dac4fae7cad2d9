import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HELP, parseCli } from './args.ts';

function usageError(argv: string[], pattern: RegExp): void {
  const r = parseCli(argv);
  assert.equal(r.command, 'usage-error', JSON.stringify(r));
  if (r.command === 'usage-error') assert.match(r.message, pattern);
}

describe('parseCli', () => {
  test('reads a separate command with every option', () => {
    const r = parseCli([
      'separate',
      'a.wav',
      'songs/',
      '--out',
      'stems',
      '--model',
      'xumx-official',
      '--ep',
      'cpu',
      '--format',
      'flac',
      '--bit-depth',
      '24',
      '--wiener-iterations',
      '2',
      '--residual',
      '--models-dir',
      '/m',
      '--json',
    ]);
    assert.deepEqual(r, {
      command: 'separate',
      inputs: ['a.wav', 'songs/'],
      out: 'stems',
      model: 'xumx-official',
      ep: 'cpu',
      format: 'flac',
      bitDepth: 24,
      wienerIterations: 2,
      residual: true,
      modelDirs: ['/m'],
      json: true,
    });
  });

  test('fills in the defaults: auto provider, 16-bit WAV, paper Wiener settings', () => {
    const r = parseCli(['separate', 'a.mp3', '--out', 'o']);
    assert.deepEqual(r, {
      command: 'separate',
      inputs: ['a.mp3'],
      out: 'o',
      ep: 'auto',
      format: 'wav',
      bitDepth: 16,
      residual: false,
      modelDirs: [],
      json: false,
    });
  });

  test("--neutral starts from neutral controls instead of the model's recommended ones", () => {
    const r = parseCli(['separate', 'a.wav', '--out', 'o', '--neutral', '--strength', 'vocals=2']);
    assert.ok(r.command === 'separate');
    assert.equal(r.neutral, true);
    assert.deepEqual(r.strength, { vocals: 2 });
    assert.equal((parseCli(['separate', 'a.wav', '--out', 'o']) as { neutral?: boolean }).neutral, undefined);
    assert.deepEqual(parseCli(['models', 'list', '--neutral']), {
      command: 'usage-error',
      message: '--neutral does not apply to "models list"',
    });
  });

  test('accepts 32-bit float output', () => {
    const r = parseCli(['separate', 'a.wav', '--out', 'o', '--bit-depth', '32f']);
    assert.equal(r.command === 'separate' && r.bitDepth, '32f');
  });

  test('reads models list', () => {
    assert.deepEqual(parseCli(['models', 'list', '--json']), { command: 'models-list', modelDirs: [], json: true });
  });

  test('shows help for --help, -h and help', () => {
    assert.equal(parseCli(['--help']).command, 'help');
    assert.equal(parseCli(['separate', '-h']).command, 'help');
    assert.deepEqual(parseCli(['help', 'separate']), { command: 'help' });
  });

  test('explains each usage error', () => {
    usageError([], /no command/);
    usageError(['split', 'a.wav'], /unknown command "split"/);
    usageError(['separate', '--out', 'o'], /at least one file/);
    usageError(['separate', 'a.wav'], /--out/);
    usageError(['separate', 'a.wav', '--out', 'o', '--ep', 'tpu'], /--ep must be one of/);
    usageError(['separate', 'a.wav', '--out', 'o', '--format', 'ogg'], /--format/);
    usageError(['separate', 'a.wav', '--out', 'o', '--bit-depth', '8'], /--bit-depth/);
    usageError(['separate', 'a.wav', '--out', 'o', '--format', 'mp3', '--bit-depth', '24'], /mp3/);
    usageError(['separate', 'a.wav', '--out', 'o', '--wiener-iterations', '-1'], /wiener-iterations/);
    usageError(['separate', 'a.wav', '--out', 'o', '--wiener-iterations', '1.5'], /wiener-iterations/);
    usageError(['separate', 'a.wav', '--out', 'o', '--frobnicate'], /frobnicate/);
    usageError(['models', 'remove'], /models list/);
    usageError(['models', 'list', '--out', 'x'], /does not apply/);
    usageError(['separate', 'a.wav', '--out', 'o', '--mix'], /--mix needs --preset/);
    usageError(['models', 'list', '--mix'], /--mix does not apply/);
  });

  test("--mix with a preset asks for the preset's mix besides the stems, and --help says so", () => {
    const r = parseCli(['separate', 'a.wav', '--out', 'o', '--preset', 'karaoke', '--mix']);
    assert.equal(r.command === 'separate' && r.mix, true);
    assert.equal(r.command === 'separate' && r.preset, 'karaoke');
    const plain = parseCli(['separate', 'a.wav', '--out', 'o', '--preset', 'karaoke']);
    assert.equal(plain.command === 'separate' && 'mix' in plain, false);
    assert.match(HELP, /--mix\s+with --preset/);
  });

  test('reads --tempo and --semitones, a negative key change written with or without "="', () => {
    for (const argv of [
      ['--tempo', '0.8', '--semitones', '-2'],
      ['--tempo=0.8', '--semitones=-2'],
    ]) {
      const r = parseCli(['separate', 'a.wav', '--out', 'o', ...argv]);
      assert.equal(r.command, 'separate', JSON.stringify(r));
      if (r.command === 'separate') assert.deepEqual(r.timePitch, { tempo: 0.8, semitones: -2 });
    }
    const tempoOnly = parseCli(['separate', 'a.wav', '--out', 'o', '--tempo', '1.5']);
    assert.ok(
      tempoOnly.command === 'separate' && tempoOnly.timePitch?.semitones === 0 && tempoOnly.timePitch.tempo === 1.5,
    );
    const neither = parseCli(['separate', 'a.wav', '--out', 'o']);
    assert.ok(neither.command === 'separate' && neither.timePitch === undefined);
  });

  test('reads --tempo written with an exponent and refuses an infinite one as such', () => {
    const r = parseCli(['separate', 'a.wav', '--out', 'o', '--tempo', '8e-1']);
    assert.ok(r.command === 'separate' && r.timePitch?.tempo === 0.8, JSON.stringify(r));
    usageError(
      ['separate', 'a.wav', '--out', 'o', '--tempo', 'Infinity'],
      /^--tempo must be a finite number, not "Infinity"$/,
    );
    usageError(
      ['separate', 'a.wav', '--out', 'o', '--semitones', '-Infinity'],
      /^--semitones must be a finite number, not "-Infinity"$/,
    );
  });

  test('refuses a tempo or key change out of range, or not a number, naming the range', () => {
    usageError(['separate', 'a.wav', '--out', 'o', '--tempo', '0.4'], /--tempo must be a number from 0.5 to 1.5/);
    usageError(
      ['separate', 'a.wav', '--out', 'o', '--tempo', '2'],
      /--tempo must be a number from 0.5 to 1.5.*not "2"/,
    );
    usageError(['separate', 'a.wav', '--out', 'o', '--tempo', '80%'], /--tempo/);
    usageError(
      ['separate', 'a.wav', '--out', 'o', '--semitones', '13'],
      /--semitones must be a whole number from -12 to 12/,
    );
    usageError(['separate', 'a.wav', '--out', 'o', '--semitones', '-1.5'], /--semitones/);
    usageError(['separate', 'a.wav', '--out', 'o', '--semitones', 'up'], /--semitones/);
    usageError(['models', 'list', '--tempo', '0.8'], /--tempo does not apply/);
  });

  test('documents --tempo and --semitones in the help', () => {
    assert.match(HELP, /--tempo X/);
    assert.match(HELP, /--semitones N/);
  });
});
