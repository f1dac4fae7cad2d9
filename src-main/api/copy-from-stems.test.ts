import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream } from '../engine/audio/decode.ts';
import { writeAudioFile } from '../engine/audio/stem-writer.ts';
import { XumxError } from '../engine/errors.ts';
import { copyFromStems } from './copy-from-stems.ts';
import type { StemStream } from './ports.ts';

const FRAMES = 3000;

/** Two stems of a 3000-frame render; `drums` as the test makes it. */
async function stems(drums: { frames: number; sampleRate: number }) {
  const dir = await mkdtemp(join(tmpdir(), 'xumx-copy-from-stems-'));
  const stemPaths = { vocals: join(dir, 'vocals.wav'), drums: join(dir, 'drums.wav') };
  const opts = { format: 'wav', bitDepth: 16, channels: 2 } as const;
  await writeAudioFile(stemPaths.vocals, [new Float32Array(FRAMES).fill(0.25), new Float32Array(FRAMES)], {
    ...opts,
    sampleRate: 44100,
  });
  await writeAudioFile(stemPaths.drums, [new Float32Array(drums.frames).fill(0.5), new Float32Array(drums.frames)], {
    ...opts,
    sampleRate: drums.sampleRate,
  });
  return { dir, stemPaths, path: join(dir, 'copy') };
}

function copy(s: { stemPaths: Record<string, string>; path: string }, decode?: (p: string) => Promise<StemStream>) {
  return copyFromStems({
    path: s.path,
    sources: ['vocals', 'drums'],
    sampleRate: 44100,
    frames: FRAMES,
    stemPaths: s.stemPaths,
    decodeStream: decode ?? ((p) => decodeStream(p, { tags: false })),
    onReady: () => {},
    goOn: () => true,
  });
}

/** The stem's stream without the frame count its header gives: only reading it to the end tells its length. */
const withoutLength = async (p: string): Promise<StemStream> => {
  const { sampleRate, pieces } = await decodeStream(p, { tags: false });
  return { sampleRate, pieces };
};

describe('copyFromStems', () => {
  test('refuses a stem file shorter than the render as TRUNCATED, naming it, and leaves no copy', async () => {
    const s = await stems({ frames: 2000, sampleRate: 44100 });
    const drums = s.stemPaths.drums;
    const reason = `${drums}: the drums stem is no longer the one rendered (it holds 2000 frames at 44100 Hz, the render 3000 at 44100 Hz)`;
    for (const decode of [undefined, withoutLength]) {
      await assert.rejects(copy(s, decode), (e: XumxError) => {
        assert.ok(e instanceof XumxError, `a coded error: ${String(e)}`);
        assert.deepEqual([e.code, e.file, e.message], ['TRUNCATED', drums, reason]);
        return true;
      });
      assert.equal(existsSync(s.path), false);
    }
    await rm(s.dir, { recursive: true, force: true });
  });

  test('refuses a stem file longer than the render, or at another rate, as not the file this app wrote', async () => {
    for (const [drums, holds] of [
      [{ frames: 4000, sampleRate: 44100 }, '4000 frames at 44100 Hz'],
      [{ frames: FRAMES, sampleRate: 48000 }, '3000 frames at 48000 Hz'],
    ] as const) {
      const s = await stems(drums);
      const reason = `${s.stemPaths.drums}: the drums stem is no longer the one rendered (it holds ${holds}, the render 3000 at 44100 Hz)`;
      await assert.rejects(copy(s), (e: XumxError) => {
        assert.ok(e instanceof XumxError, `a coded error: ${String(e)}`);
        assert.deepEqual([e.code, e.file, e.message], ['FILE_UNREADABLE', s.stemPaths.drums, reason]);
        return true;
      });
      assert.equal(existsSync(s.path), false);
      await rm(s.dir, { recursive: true, force: true });
    }
  });

  test('refuses a stem read without its length that goes on past the render, naming it', async () => {
    const s = await stems({ frames: 4000, sampleRate: 44100 });
    await assert.rejects(copy(s, withoutLength), (e: XumxError) => {
      assert.deepEqual(
        [e.code, e.file, e.message],
        [
          'FILE_UNREADABLE',
          s.stemPaths.drums,
          `${s.stemPaths.drums}: the drums stem is no longer the one rendered (it holds more than 3000 frames at 44100 Hz, the render 3000 at 44100 Hz)`,
        ],
      );
      return true;
    });
    assert.equal(existsSync(s.path), false);
    await rm(s.dir, { recursive: true, force: true });
  });
});
