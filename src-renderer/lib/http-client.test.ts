import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApiCallError } from './client.ts';
import { uploadEach } from './http-client.ts';

const file = (name: string) => ({ name });

describe('browser-mode uploads of several songs', () => {
  test('uploads every song of a drop when one is refused, then names each refused one and why', async () => {
    const tried: string[] = [];
    const upload = async (f: { name: string }) => {
      tried.push(f.name);
      if (f.name === 'bad.wav') throw new ApiCallError('BAD_ARGUMENT', 'upload needs a plain file name');
      if (f.name === 'full.wav')
        throw new ApiCallError('DISK_FULL', 'full.wav: cannot be kept in /d (the disk is full)');
      return [{ id: f.name }];
    };
    const err = await uploadEach([file('a.wav'), file('bad.wav'), file('b.wav'), file('full.wav')], upload).then(
      () => assert.fail('refusals are reported'),
      (e: unknown) => e,
    );
    assert.deepEqual(tried, ['a.wav', 'bad.wav', 'b.wav', 'full.wav']);
    assert.ok(err instanceof ApiCallError);
    assert.equal(err.code, 'BAD_ARGUMENT');
    assert.equal(
      err.message,
      '2 of 4 songs were not added:\nbad.wav: upload needs a plain file name\nfull.wav: cannot be kept in /d (the disk is full)',
    );
  });

  test('answers the jobs of all songs when none is refused, and a lone refusal as it came', async () => {
    const upload = async (f: { name: string }) => [{ id: f.name }];
    assert.deepEqual(await uploadEach([file('a.wav'), file('b.wav')], upload), [{ id: 'a.wav' }, { id: 'b.wav' }]);
    const refused = new ApiCallError('NOT_AUDIO', 'x.txt: this is not an audio file');
    await assert.rejects(
      uploadEach([file('x.txt')], async () => {
        throw refused;
      }),
      (e) => e === refused,
    );
  });
});
