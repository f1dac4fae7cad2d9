// Blocks from the listening route: the WAV's channel pairs become the render's stems in its order; a range not
// final yet (the error code NOT_READY) is NotReady (with the app's reason), any other refusal an error naming the frame.
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSampleEncoder } from '../../src-main/engine/audio/sample-encoders.ts';
import { listenBlockSource } from './block-source.ts';

async function floatWav(channels: Float32Array[], sampleRate: number): Promise<ArrayBuffer> {
  const encoder = await createSampleEncoder({ format: 'wav', bitDepth: '32f', sampleRate, channels: channels.length });
  const body = encoder.encode(channels);
  const { tail, patches } = encoder.finish();
  const out = Buffer.concat([...body, ...tail]);
  for (const p of patches) out.set(p.bytes, p.at);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

function answer(status: number, body: ArrayBuffer | string = '', headers: Record<string, string> = {}) {
  const asked: string[] = [];
  globalThis.fetch = (async (url: string) => {
    asked.push(url);
    return new Response(body, { status, statusText: status === 200 ? 'OK' : 'Refused', headers });
  }) as typeof fetch;
  return asked;
}

const url = (revision: number, from: number, frames: number) =>
  `/api/listen/song/${revision}?from=${from}&frames=${frames}`;

describe('listenBlockSource', () => {
  test("reads each stem from its two channels, in the render's stem order", async () => {
    const channels = Array.from({ length: 4 }, (_, c) =>
      Float32Array.from({ length: 300 }, (_, i) => (c + 1) * 0.1 + i * 1e-4),
    );
    const asked = answer(200, await floatWav(channels, 44100));
    const block = await listenBlockSource(url, () => ['vocals', 'drums']).read(3, 88200, 300);
    assert.deepEqual(asked, ['/api/listen/song/3?from=88200&frames=300']);
    assert.ok(!('notReady' in block));
    assert.deepEqual([block.from, block.frames], [88200, 300]);
    assert.deepEqual([...block.stems.keys()], ['vocals', 'drums']);
    assert.deepEqual(block.stems.get('drums'), [channels[2], channels[3]]);
  });

  test('refuses a 409 whose code is not NOT_READY (busy, already there) instead of asking again for ever', async () => {
    for (const code of ['OUTPUT_BUSY', 'OUTPUT_EXISTS', 'NOT_CACHED']) {
      const message = `song.wav: refused with ${code}`;
      answer(409, JSON.stringify({ ok: false, error: { code, message } }), { 'content-type': 'application/json' });
      await assert.rejects(
        listenBlockSource(url, () => ['vocals']).read(0, 1000, 100),
        (e: Error) => e.message === message,
        code,
      );
    }
  });

  test('refuses a bare 409 that carries no code, naming the frame', async () => {
    answer(409, 'song.wav: not rendered yet');
    await assert.rejects(
      listenBlockSource(url, () => ['vocals']).read(0, 1000, 100),
      (e: Error) => e.message === 'song.wav: not rendered yet',
    );
    answer(409);
    await assert.rejects(listenBlockSource(url, () => ['vocals']).read(0, 4410, 10), /frame 4410 \(409 Refused\)/);
  });

  test('says "not ready" with the message of an answer in the API\'s error form, as the app sends it', async () => {
    const message = 'song.wav: not rendered yet';
    answer(409, JSON.stringify({ ok: false, error: { code: 'NOT_READY', message } }), {
      'content-type': 'application/json',
    });
    assert.deepEqual(await listenBlockSource(url, () => ['vocals']).read(0, 1000, 100), { notReady: message });
  });

  test("refuses a WAV whose channels do not match the render's stems, and names the frame of a failed read", async () => {
    answer(200, await floatWav([new Float32Array(10), new Float32Array(10)], 44100));
    await assert.rejects(listenBlockSource(url, () => ['vocals', 'drums']).read(0, 0, 10), /not the float WAV/);
    answer(404);
    await assert.rejects(listenBlockSource(url, () => ['vocals']).read(0, 4410, 10), /frame 4410 \(404 Refused\)/);
  });

  test("passes on the app's own reason for a refused block, which names the file that is missing", async () => {
    answer(
      500,
      "song.wav: render 0's listening copy cannot be made again from its stems (/out/song/drums.wav: no such file)",
    );
    await assert.rejects(
      listenBlockSource(url, () => ['vocals']).read(0, 88200, 10),
      (e: Error) => e.message.includes('/out/song/drums.wav: no such file') && e.message.startsWith('song.wav:'),
    );
  });

  test("passes on the message of a refusal in the API's error form, not the JSON around it", async () => {
    const message =
      "song.wav: the song's audio cannot be made again from its stem files (/out/song/drums.wav: no such file)";
    answer(500, JSON.stringify({ ok: false, error: { code: 'FILE_NOT_FOUND', message } }), {
      'content-type': 'application/json',
    });
    await assert.rejects(
      listenBlockSource(url, () => ['vocals']).read(0, 88200, 10),
      (e: Error) => e.message === message,
    );
  });
});
