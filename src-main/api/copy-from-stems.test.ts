import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream } from '../engine/audio/decode.ts';
import { writeAudioFile } from '../engine/audio/stem-writer.ts';
import { copyFromStems } from './copy-from-stems.ts';

describe('copyFromStems', () => {
  test('refuses a stem file that holds other frames than the render, naming it, and leaves no copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-copy-from-stems-'));
    const stemPaths = { vocals: join(dir, 'vocals.wav'), drums: join(dir, 'drums.wav') };
    const opts = { format: 'wav', bitDepth: 16, sampleRate: 44100, channels: 2 } as const;
    await writeAudioFile(stemPaths.vocals, [new Float32Array(3000).fill(0.25), new Float32Array(3000)], opts);
    await writeAudioFile(stemPaths.drums, [new Float32Array(2000).fill(0.5), new Float32Array(2000)], opts);
    const path = join(dir, 'copy');
    await assert.rejects(
      copyFromStems({
        path,
        sources: ['vocals', 'drums'],
        sampleRate: 44100,
        frames: 3000,
        stemPaths,
        decodeStream: (p) => decodeStream(p, { tags: false }),
        onReady: () => {},
        goOn: () => true,
      }),
      (e: Error) =>
        e.message ===
        `${stemPaths.drums}: the drums stem is no longer the one rendered (it holds 2000 frames at 44100 Hz)`,
    );
    assert.equal(existsSync(path), false);
    await rm(dir, { recursive: true, force: true });
  });
});
