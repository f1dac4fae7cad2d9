import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { XumxError } from '../errors.ts';
import { controlsForModel, modelDefaultControls } from '../dsp/controls.ts';
import {
  BUILT_IN_PRESETS,
  controlsWithPreset,
  PRACTICE_GAIN_DB,
  findPreset,
  parsePreset,
  parsePresetFile,
  presetGains,
  resolvePreset,
  serializePresetFile,
} from './presets.ts';

const XUMX = ['bass', 'drums', 'vocals', 'other'];

describe('built-in presets', () => {
  test('karaoke silences only the vocals, a cappella keeps only the vocals', () => {
    assert.deepEqual(presetGains(findPreset('karaoke')!, XUMX), { bass: 1, drums: 1, vocals: 0, other: 1 });
    assert.deepEqual(presetGains(findPreset('a-cappella')!, XUMX), { bass: 0, drums: 0, vocals: 1, other: 0 });
    assert.equal(presetGains(findPreset('drumless')!, XUMX).drums, 0);
    assert.equal(presetGains(findPreset('bassless')!, XUMX).bass, 0);
  });

  test('practice presets turn one instrument down by 12 dB and leave the rest', () => {
    for (const s of XUMX) {
      const g = presetGains(findPreset(`practice-${s}`)!, XUMX);
      assert.ok(Math.abs(g[s] - 10 ** (PRACTICE_GAIN_DB / 20)) < 1e-12);
      for (const other of XUMX.filter((o) => o !== s)) assert.equal(g[other], 1);
    }
  });

  test('every built-in preset gives valid controls for X-UMX', () => {
    for (const p of BUILT_IN_PRESETS) assert.doesNotThrow(() => controlsForModel(p.controls, { sources: XUMX }), p.id);
  });

  test('a model without a preset source ignores those entries', () => {
    const r = resolvePreset(findPreset('karaoke')!, ['drums', 'other']);
    assert.deepEqual(r.mute, []);
    assert.deepEqual(r.controls.strength, {});
    assert.doesNotThrow(() => controlsForModel(r.controls, { sources: ['drums', 'other'] }));
  });
});

describe('a preset on a model with recommended controls', () => {
  const model = {
    sources: XUMX,
    defaultControls: { strength: { vocals: 1.2, drums: 0.9 }, bleed: { other: 0.1 }, wienerIterations: 2 },
  };

  test("changes what it names and leaves the rest at the model's defaults, not at neutral", () => {
    assert.deepEqual(controlsWithPreset(findPreset('karaoke')!, XUMX, modelDefaultControls(model)), {
      wienerIterations: 2,
      softmask: false,
      residual: false,
      strength: { vocals: 0.7, drums: 0.9 },
      bleed: { other: 0.1 },
    });
  });

  test("a practice preset, which names no control, keeps the model's defaults as they are", () => {
    const defaults = modelDefaultControls(model);
    assert.deepEqual(controlsWithPreset(findPreset('practice-bass')!, XUMX, defaults), defaults);
  });

  test('drops entries for sources the model lacks', () => {
    const defaults = modelDefaultControls({});
    assert.deepEqual(controlsWithPreset(findPreset('karaoke')!, ['drums', 'other'], defaults), defaults);
  });
});

describe('user presets', () => {
  const mine = {
    id: 'my-mix',
    name: 'My mix',
    controls: { strength: { vocals: 1.2 }, wienerIterations: 2 },
    mute: ['drums'],
    gainsDb: { bass: -6 },
  };

  test('round-trip through presets.json', () => {
    const parsed = parsePreset(mine, 'req');
    const back = parsePresetFile(serializePresetFile([...BUILT_IN_PRESETS, parsed]), '/data/presets.json');
    assert.deepEqual(back, [parsed]);
    assert.equal(findPreset('my-mix', back)?.name, 'My mix');
  });

  test('a broken preset file is an error naming the file and the reason', () => {
    const fails = (text: string, pattern: RegExp) =>
      assert.throws(
        () => parsePresetFile(text, '/data/presets.json'),
        (e: XumxError) =>
          e.code === 'BAD_ARGUMENT' && e.message.startsWith('/data/presets.json') && pattern.test(e.message),
      );
    fails('{', /not valid JSON/);
    fails('{"version":2,"presets":[]}', /version 1/);
    fails(JSON.stringify({ version: 1, presets: [mine, mine] }), /appears twice/);
    fails(JSON.stringify({ version: 1, presets: [{ ...mine, id: 'karaoke' }] }), /built-in/);
    fails(
      JSON.stringify({ version: 1, presets: [{ ...mine, controls: { strength: { vocals: 9 } } }] }),
      /strength of vocals/,
    );
    fails(JSON.stringify({ version: 1, presets: [{ ...mine, id: 'Bad Id' }] }), /lower-case/);
  });
});
