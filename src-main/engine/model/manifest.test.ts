import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { XumxError } from '../errors.ts';
import { parseManifest, parseManifestText } from './manifest.ts';

const good = {
  id: 'xumx-studio-v1',
  name: 'X-UMX Studio',
  architecture: 'x-umx',
  sources: ['bass', 'drums', 'vocals', 'other'],
  sample_rate: 44100,
  n_fft: 4096,
  hop: 1024,
  file: 'model.onnx',
  sha256: 'ab'.repeat(32),
  size: 1234,
  license: 'MIT',
  provenance: 'MUSDB18-HQ train split',
  metrics: { vocals_sdr: 6.1 },
};

function rejects(change: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => parseManifest({ ...good, ...change }, '/m/manifest.json'),
    (e: XumxError) =>
      e.code === 'MODEL_BAD_MANIFEST' && pattern.test(e.message) && e.message.startsWith('/m/manifest.json'),
  );
}

describe('parseManifest', () => {
  test('reads a manifest.json as text, and text that is not JSON as a bad manifest naming the file', () => {
    assert.deepEqual(
      parseManifestText(JSON.stringify(good), '/m/manifest.json'),
      parseManifest(good, '/m/manifest.json'),
    );
    assert.throws(
      () => parseManifestText('{"id": ', '/m/manifest.json'),
      (e: XumxError) => e.code === 'MODEL_BAD_MANIFEST' && /^\/m\/manifest.json: not valid JSON/.test(e.message),
    );
  });

  test('reads every contract field into a typed manifest', () => {
    const m = parseManifest(good, '/m/manifest.json');
    assert.equal(m.id, 'xumx-studio-v1');
    assert.deepEqual(m.sources, ['bass', 'drums', 'vocals', 'other']);
    assert.equal(m.sampleRate, 44100);
    assert.equal(m.testOnly, false);
    assert.deepEqual(m.metrics, { vocals_sdr: 6.1 });
  });

  test('marks random-weight networks as test-only', () => {
    assert.equal(parseManifest({ ...good, test_only: true }, 'x').testOnly, true);
  });

  test('names the field that is missing or wrong', () => {
    rejects({ sources: undefined }, /"sources"/);
    rejects({ sources: ['vocals', 'vocals'] }, /twice/);
    rejects({ sources: ['vocals', 'residual'] }, /reserved/);
    rejects({ sha256: 'abc' }, /sha256/);
    rejects({ size: -1 }, /"size"/);
    rejects({ license: '' }, /"license"/);
    rejects({ id: 'Bad Id' }, /id/);
    rejects({ metrics: [1] }, /metrics/);
    rejects({ test_only: 'yes' }, /test_only/);
  });

  test('refuses a network trained for another STFT or sample rate', () => {
    rejects({ sample_rate: 48000 }, /44100 Hz/);
    rejects({ n_fft: 2048 }, /n_fft 2048/);
  });

  test('refuses a network file outside the model folder', () => {
    rejects({ file: '../../etc/passwd' }, /inside the model's folder/);
    rejects({ file: '/abs/model.onnx' }, /inside the model's folder/);
  });

  test('reads the recommended controls a model carries, and neutral ones for a manifest without them', () => {
    const m = parseManifest(
      {
        ...good,
        default_controls: { strength: { vocals: 0.8, bass: 1 }, bleed: { other: 0.1 }, wiener_iterations: 2 },
      },
      '/m/manifest.json',
    );
    // An entry equal to the neutral value is kept: the model recommends it, whatever a later layer says.
    assert.deepEqual(m.defaultControls, {
      strength: { vocals: 0.8, bass: 1 },
      bleed: { other: 0.1 },
      wienerIterations: 2,
    });
    assert.equal(parseManifest(good, '/m/manifest.json').defaultControls, undefined);
  });

  test('refuses recommended controls the engine would refuse, saying which and why', () => {
    rejects({ default_controls: [] }, /"default_controls" must be an object/);
    rejects(
      { default_controls: { loudness: 1 } },
      /"default_controls" has an unknown field "loudness" \(it takes strength, bleed, wiener_iterations\)/,
    );
    rejects({ default_controls: { wienerIterations: 2 } }, /unknown field "wienerIterations"/);
    rejects(
      { default_controls: { strength: { guitar: 2 } } },
      /"default_controls": strength: the model has no source "guitar"/,
    );
    rejects(
      { default_controls: { strength: { vocals: 9 } } },
      /"default_controls": strength of vocals must be a number from 0.25 to 4/,
    );
    rejects({ default_controls: { bleed: { drums: -0.1 } } }, /bleed of drums/);
    rejects({ default_controls: { wiener_iterations: 1.5 } }, /Wiener iterations must be a whole number/);
  });

  test('refuses something that is not an object', () => {
    assert.throws(
      () => parseManifest([], 'x'),
      (e: XumxError) => e.code === 'MODEL_BAD_MANIFEST',
    );
  });
});
