import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCli } from './args.ts';
import { flagControlsForModel, controlsFromFlags, parseSourceValues } from './controls-args.ts';

const separate = (...flags: string[]) => parseCli(['separate', 'a.wav', '--out', 'o', ...flags]);

describe('separation control flags', () => {
  test('read --strength and --bleed as per-source values, joined across repeats, a later value winning', () => {
    const r = separate(
      '--strength',
      'vocals=1.5,drums=0.8',
      '--strength',
      'drums=0.9',
      '--bleed',
      'vocals=0.2',
      '--residual',
    );
    assert.equal(r.command, 'separate');
    if (r.command !== 'separate') return;
    assert.deepEqual(r.strength, { vocals: 1.5, drums: 0.9 });
    assert.deepEqual(r.bleed, { vocals: 0.2 });
    assert.equal(r.residual, true);
  });

  test('a preset gives its controls and explicit flags override them', () => {
    const r = separate('--preset', 'karaoke', '--strength', 'drums=1.2');
    assert.ok(r.command === 'separate');
    if (r.command !== 'separate') return;
    assert.equal(r.preset, 'karaoke');
    assert.deepEqual(r.strength, { vocals: 0.7, drums: 1.2 });
    const over = separate('--preset', 'a-cappella', '--bleed', 'vocals=0');
    assert.deepEqual(over.command === 'separate' && over.bleed, { vocals: 0 });
  });

  test('leave the command unchanged without them', () => {
    const r = separate();
    assert.ok(
      r.command === 'separate' && !('strength' in r) && !('bleed' in r) && !('preset' in r) && !('cacheDir' in r),
    );
    assert.deepEqual(
      separate('--cache-dir', '/c').command === 'separate' &&
        (separate('--cache-dir', '/c') as { cacheDir: string }).cacheDir,
      '/c',
    );
  });

  test('explain malformed values, out-of-range values and unknown presets', () => {
    const usage = (flags: string[], pattern: RegExp) => {
      const r = separate(...flags);
      assert.equal(r.command, 'usage-error', JSON.stringify(r));
      if (r.command === 'usage-error') assert.match(r.message, pattern);
    };
    usage(['--strength', 'vocals'], /source=value pairs/);
    usage(['--strength', 'vocals=loud'], /^--strength vocals: "loud" is not a number$/);
    usage(['--strength', 'vocals=9'], /^--strength of vocals must be a number from 0.25 to 4, got 9$/);
    usage(['--bleed', 'drums=1'], /^--bleed of drums must be a number from 0 to 0.9, got 1$/);
    usage(['--preset', 'nightcore'], /--preset must be one of karaoke/);
    const models = parseCli(['models', 'list', '--strength', 'vocals=2']);
    assert.equal(models.command, 'usage-error');
  });

  test('name the source that is not a source name, as every door does', () => {
    for (const bad of ['Vocals', 'lead vocals', '2nd', '__proto__', 'a'.repeat(33)]) {
      const r = separate('--strength', `drums=1.2,${bad}=2`);
      assert.equal(r.command, 'usage-error', bad);
      if (r.command === 'usage-error')
        assert.equal(
          r.message,
          `--strength: "${bad.slice(0, 40)}" is not a source name (lower case, a letter first, such as "vocals")`,
        );
    }
  });

  test('refuse a source named twice in one list, naming it; a later flag still overrides an earlier one', () => {
    const r = separate('--strength', 'vocals=2,drums=1,vocals=3');
    assert.equal(r.command, 'usage-error');
    if (r.command === 'usage-error')
      assert.equal(r.message, '--strength names vocals twice in "vocals=2,drums=1,vocals=3"');
    const later = separate('--bleed', 'bass=0.1', '--bleed', 'bass=0.2');
    assert.deepEqual(later.command === 'separate' && later.bleed, { bass: 0.2 });
  });

  test('parse values with spaces around and leading dots', () => {
    assert.deepEqual(parseSourceValues('bleed', [' vocals = .5 , bass=0']), {
      ok: true,
      value: { vocals: 0.5, bass: 0 },
    });
    assert.deepEqual(controlsFromFlags({}), { ok: true, value: {} });
  });

  test('read numbers written with an exponent, refusing one out of range by its range and an infinite one as such', () => {
    const message = (text: string) => {
      const r = separate('--strength', text);
      return r.command === 'usage-error' ? r.message : JSON.stringify(r);
    };
    assert.equal(message('vocals=1e2'), '--strength of vocals must be a number from 0.25 to 4, got 100');
    for (const infinite of ['Infinity', '-Infinity', '+infinity', '1e999'])
      assert.equal(message(`vocals=${infinite}`), `--strength of vocals must be a finite number, not "${infinite}"`);
    assert.deepEqual(parseSourceValues('strength', ['vocals=2.5E-1,drums=1e0']), {
      ok: true,
      value: { vocals: 0.25, drums: 1 },
    });
    assert.equal(message('vocals=0x10'), '--strength vocals: "0x10" is not a number');
  });

  test('say what is wrong with an empty entry or a missing value, naming the flag', () => {
    const message = (flag: string, text: string) => {
      const r = separate(flag, text);
      return r.command === 'usage-error' ? r.message : JSON.stringify(r);
    };
    const pairs = 'give source=value pairs separated by commas (e.g. vocals=1.5,drums=0.8)';
    assert.equal(
      message('--strength', 'vocals=2,'),
      `--strength "vocals=2,": an empty entry (a comma too many); ${pairs}`,
    );
    assert.equal(
      message('--bleed', 'vocals=0.2,,bass=0.1'),
      `--bleed "vocals=0.2,,bass=0.1": an empty entry (a comma too many); ${pairs}`,
    );
    assert.equal(message('--bleed', ''), `--bleed "": an empty entry (a comma too many); ${pairs}`);
    assert.equal(message('--strength', 'vocals='), '--strength of vocals has no value after "=" (e.g. vocals=1.5)');
  });

  test("check the sources the flags name against the model's, leaving out a preset's that the model lacks", () => {
    const model = { id: 'two-stems', sources: ['vocals', 'accompaniment'] };
    const cmd = (...flags: string[]) => {
      const r = separate(...flags);
      assert.equal(r.command, 'separate', JSON.stringify(r));
      return r as Extract<typeof r, { command: 'separate' }>;
    };
    assert.deepEqual(flagControlsForModel(cmd('--strength', 'guitar=2'), model), {
      ok: false,
      message: '--strength: the model "two-stems" has no source "guitar" (its sources: vocals, accompaniment)',
    });
    assert.deepEqual(flagControlsForModel(cmd('--bleed', 'vocals=0.1,drums=0.2'), model), {
      ok: false,
      message: '--bleed: the model "two-stems" has no source "drums" (its sources: vocals, accompaniment)',
    });
    assert.deepEqual(flagControlsForModel(cmd('--preset', 'drumless', '--strength', 'vocals=1.5'), model), {
      ok: true,
      value: { strength: { vocals: 1.5 } },
    });
    assert.deepEqual(flagControlsForModel(cmd('--preset', 'drumless', '--strength', 'drums=2'), model), {
      ok: false,
      message: '--strength: the model "two-stems" has no source "drums" (its sources: vocals, accompaniment)',
    });
  });
});
