import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HTTP_STATUS, httpStatusFor } from './http-status.ts';
import { listenRefusalBody, type ListenRefusal } from './listen-copies.ts';

const listenStatus = (r: ListenRefusal) => httpStatusFor(listenRefusalBody(r).error.code);

describe('the HTTP status of an error', () => {
  test("is 500 only for the app's own faults", () => {
    const fivehundred = Object.entries(HTTP_STATUS)
      .filter(([, status]) => status === 500)
      .map(([code]) => code)
      .sort();
    assert.deepEqual(fivehundred, ['CACHE_CORRUPT', 'ENCODE_FAILED', 'INTERNAL']);
  });

  test("answers a song's or stem file's fault as the file's, not the server's", () => {
    for (const [code, status] of [
      ['FILE_NOT_FOUND', 404],
      ['FILE_UNREADABLE', 403],
      ['FILE_EMPTY', 422],
      ['TRUNCATED', 422],
      ['NOT_AUDIO', 422],
      ['DECODE_FAILED', 422],
      ['FILE_TOO_LARGE', 413],
      ['DISK_FULL', 507],
      ['BAD_ARGUMENT', 400],
    ] as const)
      assert.equal(httpStatusFor(code), status, code);
  });

  test('is 409 (on which the player asks again later) only for a conflict with what the app holds now', () => {
    const conflicts = Object.entries(HTTP_STATUS)
      .filter(([, status]) => status === 409)
      .map(([code]) => code)
      .sort();
    assert.deepEqual(conflicts, ['NOT_CACHED', 'NOT_READY', 'OUTPUT_BUSY', 'OUTPUT_EXISTS']);
  });

  test("of the listening route's refusals is their code's", () => {
    assert.equal(listenStatus({ kind: 'failed', code: 'TRUNCATED', message: 'a.wav: ends early' }), 422);
    assert.equal(listenStatus({ kind: 'failed', code: 'INTERNAL', message: 'a bug' }), 500);
    assert.equal(listenStatus({ kind: 'bad-request', message: 'x' }), 400);
    assert.equal(listenStatus({ kind: 'not-kept', message: 'x' }), 404);
    assert.equal(listenStatus({ kind: 'not-ready', message: 'x' }), 409);
  });
});
