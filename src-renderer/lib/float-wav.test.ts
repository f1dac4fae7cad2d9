// Reading the previews' float WAVs without the browser's decoder: the samples the app's own WAV encoder wrote come
// back exactly; other WAVs are left to the decoder.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSampleEncoder } from '../../src-main/engine/audio/sample-encoders.ts';
import { readFloatWav } from './float-wav.ts';

async function wav(channels: Float32Array[], sampleRate: number, bitDepth: 16 | '32f'): Promise<ArrayBuffer> {
  const encoder = await createSampleEncoder({ format: 'wav', bitDepth, sampleRate, channels: channels.length });
  const body = encoder.encode(channels);
  const { tail, patches } = encoder.finish();
  const out = Buffer.concat([...body, ...tail]);
  for (const p of patches) out.set(p.bytes, p.at);
  return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
}

describe('readFloatWav', () => {
  test('gives back the very samples of a stereo 32-bit float WAV, and its rate', async () => {
    const left = Float32Array.from({ length: 1001 }, (_, i) => Math.sin(i / 7) * 1.5);
    const right = Float32Array.from({ length: 1001 }, (_, i) => -i / 1001);
    const got = readFloatWav(await wav([left, right], 48000, '32f'));
    assert.ok(got);
    assert.equal(got.sampleRate, 48000);
    assert.deepEqual(got.channels, [left, right]);
  });

  test("leaves 16-bit WAVs and bytes that are no WAV to the browser's decoder", async () => {
    assert.equal(readFloatWav(await wav([new Float32Array(10)], 44100, 16)), null);
    assert.equal(readFloatWav(new TextEncoder().encode('RIFF....WAVEjunk').buffer as ArrayBuffer), null);
    assert.equal(readFloatWav(new ArrayBuffer(4)), null);
  });
});
