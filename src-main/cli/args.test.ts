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
    const r = parseCli(['separate', 'a.wav', 'songs/', '--out', 'stems', '--model', 'xumx-official', '--ep', 'cpu',
      '--format', 'flac', '--bit-depth', '24', '--wiener-iterations', '2', '--residual', '--models-dir', '/m', '--json']);
    assert.deepEqual(r, {
      command: 'separate', inputs: ['a.wav', 'songs/'], out: 'stems', model: 'xumx-official', ep: 'cpu', format: 'flac',
      bitDepth: 24, wienerIterations: 2, residual: true, modelDirs: ['/m'], json: true,
    });
  });

  test('fills in the defaults: auto provider, 16-bit WAV, paper Wiener settings', () => {
    const r = parseCli(['separate', 'a.mp3', '--out', 'o']);
    assert.deepEqual(r, { command: 'separate', inputs: ['a.mp3'], out: 'o', ep: 'auto', format: 'wav', bitDepth: 16, residual: false, modelDirs: [], json: false });
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

  test('--mix with a preset asks for the preset\'s mix besides the stems, and --help says so', () => {
    const r = parseCli(['separate', 'a.wav', '--out', 'o', '--preset', 'karaoke', '--mix']);
    assert.equal(r.command === 'separate' && r.mix, true);
    assert.equal(r.command === 'separate' && r.preset, 'karaoke');
    const plain = parseCli(['separate', 'a.wav', '--out', 'o', '--preset', 'karaoke']);
    assert.equal(plain.command === 'separate' && 'mix' in plain, false);
    assert.match(HELP, /--mix\s+with --preset/);
  });
});
