import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { XumxError } from '../errors.ts';
import {
  addLeftover,
  applyControls,
  checkControls,
  controlsForModel,
  isIdentity,
  modelDefaultControls,
  withDefaults,
} from './controls.ts';
import { parsePreset } from '../separate/presets.ts';
import type { Spectrogram } from './stft.ts';

const SOURCES = ['bass', 'drums', 'vocals', 'other'];

/** Seeded estimates for 4 sources over n cells. */
function fixture(n: number, seed = 3): Float32Array[] {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32;
  return SOURCES.map(() => Float32Array.from({ length: n }, () => rnd() * 2));
}

describe('applyControls', () => {
  test('strength 1 and bleed 0 leave every estimate bit-for-bit unchanged', () => {
    const est = fixture(1000);
    const before = est.map((e) => e.slice());
    applyControls(est, SOURCES, { strength: { vocals: 1, bass: 1 }, bleed: { drums: 0 } });
    est.forEach((e, j) => assert.deepEqual(e, before[j]));
  });

  test('strength is an exponent on the mask of the source: Σv·(v_j/Σv)^s', () => {
    const est = [new Float32Array([1, 3, 0, 0]), new Float32Array([3, 1, 1, 0])];
    applyControls(est, ['a', 'b'], { strength: { a: 2 } });
    assert.ok(Math.abs(est[0][0] - 4 * 0.25 ** 2) < 1e-6);
    assert.ok(Math.abs(est[0][1] - 4 * 0.75 ** 2) < 1e-6);
    assert.equal(est[0][2], 0, 'a zero estimate stays zero');
    assert.equal(est[0][3], 0, 'a cell no source holds is left alone');
    assert.deepEqual([...est[1]], [3, 1, 1, 0], 'other sources are untouched');
  });

  test('strength above 1 thins a source out, below 1 lets it claim more of the mixture', () => {
    const est = fixture(500);
    const strict = est.map((e) => e.slice());
    const greedy = est.map((e) => e.slice());
    applyControls(strict, SOURCES, { strength: { vocals: 2 } });
    applyControls(greedy, SOURCES, { strength: { vocals: 0.5 } });
    for (let i = 0; i < 500; i++) {
      assert.ok(strict[2][i] <= est[2][i] + 1e-6);
      assert.ok(greedy[2][i] >= est[2][i] - 1e-6);
    }
  });

  test('bleed reduction drops cells below the threshold share and keeps a fully owned cell whole', () => {
    // cell 0: a holds 10 %, cell 1: 60 %, cell 2: 100 %.
    const est = [new Float32Array([1, 6, 5]), new Float32Array([9, 4, 0])];
    applyControls(est, ['a', 'b'], { bleed: { a: 0.2 } });
    assert.equal(est[0][0], 0);
    assert.ok(Math.abs(est[0][1] - ((0.6 - 0.2) / 0.8) * 10) < 1e-5);
    assert.ok(Math.abs(est[0][2] - 5) < 1e-6);
    assert.deepEqual([...est[1]], [9, 4, 0]);
  });
});

describe('controlsForModel', () => {
  test('fills the X-UMX evaluation defaults and drops neutral entries', () => {
    assert.deepEqual(controlsForModel(undefined, { sources: SOURCES }), {
      wienerIterations: 1,
      softmask: false,
      residual: false,
    });
    assert.deepEqual(
      controlsForModel({ strength: { vocals: 1 }, bleed: { bass: 0, drums: 0.3 } }, { sources: SOURCES }),
      {
        wienerIterations: 1,
        softmask: false,
        residual: false,
        bleed: { drums: 0.3 },
      },
    );
    assert.ok(isIdentity(controlsForModel({ strength: { vocals: 1 } }, { sources: SOURCES })));
  });

  test('rejects unknown sources and out-of-range values with a message that says which', () => {
    const rejects = (c: object, pattern: RegExp) =>
      assert.throws(
        () => controlsForModel(c, { sources: SOURCES }),
        (e: XumxError) => e.code === 'BAD_ARGUMENT' && pattern.test(e.message),
      );
    rejects({ strength: { voclas: 2 } }, /no source "voclas"/);
    rejects({ strength: { vocals: 0 } }, /strength of vocals/);
    rejects({ strength: { vocals: Number.NaN } }, /strength of vocals/);
    rejects({ bleed: { drums: 1 } }, /bleed of drums/);
    rejects({ wienerIterations: 11 }, /Wiener iterations/);
  });
});

describe("a model's recommended controls", () => {
  const model = {
    sources: SOURCES,
    defaultControls: { strength: { vocals: 1.2, bass: 0.8 }, bleed: { other: 0.1 }, wienerIterations: 2 },
  };

  test('are the neutral controls for a model that carries none', () => {
    assert.deepEqual(modelDefaultControls({}), {
      wienerIterations: 1,
      softmask: false,
      residual: false,
    });
  });

  test('are what a request that leaves every control out gets', () => {
    assert.deepEqual(modelDefaultControls(model), {
      wienerIterations: 2,
      softmask: false,
      residual: false,
      strength: { vocals: 1.2, bass: 0.8 },
      bleed: { other: 0.1 },
    });
    assert.deepEqual(controlsForModel(undefined, model), modelDefaultControls(model));
  });

  test('give way per field and per source to what a request names, the neutral value included', () => {
    assert.deepEqual(controlsForModel({ strength: { vocals: 1, drums: 2 }, wienerIterations: 0 }, model), {
      wienerIterations: 0,
      softmask: false,
      residual: false,
      // vocals back at 1 because the request says so, bass still the model's
      strength: { bass: 0.8, drums: 2 },
      bleed: { other: 0.1 },
    });
    assert.equal(controlsForModel({ strength: { vocals: 1 } }, model).strength?.vocals, undefined);
  });

  test("are left out for a complete set of controls, such as a song's saved ones", () => {
    const saved = { wienerIterations: 1, softmask: false, residual: false, strength: { drums: 2 } };
    assert.deepEqual(controlsForModel(saved, model, 'neutral'), saved);
  });

  test('lay under a partial set per source, and the result drops neutral entries', () => {
    const base = modelDefaultControls(model);
    assert.deepEqual(withDefaults({ bleed: { other: 0, vocals: 0.2 } }, base).bleed, { vocals: 0.2 });
    assert.deepEqual(withDefaults({}, base), base);
  });
});

describe('checkControls: one rule for every door and for presets', () => {
  const refused = (f: () => unknown, message: RegExp) =>
    assert.throws(f, (e: unknown) => e instanceof XumxError && e.code === 'BAD_ARGUMENT' && message.test(e.message));

  test('before the model is known, keeps every entry and needs only well-formed source names', () => {
    assert.deepEqual(checkControls({ strength: { vocals: 1, guitar: 2 } }), {
      wienerIterations: 1,
      softmask: false,
      residual: false,
      strength: { vocals: 1, guitar: 2 },
    });
    refused(() => checkControls({ strength: { Vocals: 2 } }), /"Vocals" is not a source name/);
    refused(() => checkControls({ bleed: { vocals: 0.95 } }), /bleed of vocals must be a number from 0 to 0.9/);
    refused(() => checkControls({ loudness: 1 }), /unknown field "loudness"/);
  });

  test('against the model, refuses sources it lacks and drops entries equal to the default', () => {
    assert.deepEqual(checkControls({ strength: { vocals: 1, drums: 2 } }, SOURCES).strength, { drums: 2 });
    refused(() => checkControls({ strength: { guitar: 2 } }, SOURCES), /the model has no source "guitar"/);
  });

  test('a preset is checked by the same rule, its message naming the preset', () => {
    const preset = (controls: unknown) => () => parsePreset({ id: 'mine', name: 'Mine', controls }, 'presets.json');
    refused(
      preset({ strength: { 'no good': 2 } }),
      /^presets\.json: preset "mine": strength: "no good" is not a source/,
    );
    refused(preset({ wienerIterations: 11 }), /preset "mine": Wiener iterations must be a whole number from 0 to 10/);
    refused(preset({ loudness: 3 }), /preset "mine": controls has an unknown field "loudness"/);
    assert.deepEqual(parsePreset({ id: 'mine', name: 'Mine', controls: { residual: true } }, 'p').controls, {
      residual: true,
    });
  });
});

describe('addLeftover', () => {
  const spec = (re: number[], im: number[]): Spectrogram => ({
    re: Float32Array.from(re),
    im: Float32Array.from(im),
    bins: 1,
    frames: re.length,
  });
  test('makes the sources sum to the mixture by adding what is left to the target', () => {
    const mix: [Spectrogram, Spectrogram] = [spec([1, 2], [0, 1]), spec([3, 0], [1, 1])];
    const sources: [Spectrogram, Spectrogram][] = [
      [spec([0.5, 0.5], [0, 0]), spec([1, 0], [0, 0])],
      [spec([0.25, 1], [0, 0.5]), spec([1, 0], [0.5, 0])],
    ];
    addLeftover(sources, mix, 1);
    for (let c = 0; c < 2; c++)
      for (let i = 0; i < 2; i++) {
        assert.ok(Math.abs(sources[0][c].re[i] + sources[1][c].re[i] - mix[c].re[i]) < 1e-6);
        assert.ok(Math.abs(sources[0][c].im[i] + sources[1][c].im[i] - mix[c].im[i]) < 1e-6);
      }
    assert.deepEqual([...sources[0][0].re], [0.5, 0.5], 'the other sources are untouched');
  });
});
