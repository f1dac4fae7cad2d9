// The recorder's cancel windows: whatever point a job is cancelled at, no partial cache file stays behind and no
// file handle stays open (a handle left to the garbage collector held a 25 MB partial until the 6-hour sweep).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT } from '../model/manifest.ts';
import { fakeModel } from '../separate/testing/fakes.ts';
import { EstimateCache } from './estimate-cache.ts';
import type { EstimateFileWriter } from './estimate-file.ts';
import { EstimateRecorder } from './estimate-recorder.ts';
import { openFilesUnder } from '../../../test/fixtures/open-files.ts';

const SOURCES = ['a', 'b'];
const FRAMES = 4;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

/** A recorder over a fake network whose runs wait for `beforeRun` (when set), writing to a fresh cache folder. */
function setup(opts: { beforeRun?: (call: number) => Promise<void>; beforeOpen?: () => Promise<void> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'xumx-recorder-'));
  dirs.push(dir);
  const cache = new EstimateCache({ dir });
  let calls = 0;
  const inner = fakeModel(
    SOURCES,
    () => 0.5,
    () => opts.beforeRun?.(++calls),
  );
  const openWriter = async (frames: number): Promise<EstimateFileWriter> => {
    await opts.beforeOpen?.();
    return cache.writer({
      key: 'k',
      modelId: 'fake',
      modelSha256: '0'.repeat(64),
      sources: SOURCES,
      bins: CONTRACT.bins,
      frames,
      codec: 'float24',
      ep: 'cpu',
      segmentFrames: FRAMES,
      overlapFrames: 1,
    });
  };
  const recorder = new EstimateRecorder(inner, openWriter);
  const input = new Float32Array(2 * CONTRACT.bins * FRAMES).fill(0.25);
  return { dir, recorder, run: () => recorder.run(input, 1, FRAMES) };
}

function assertNothingLeft(dir: string): void {
  assert.deepEqual(readdirSync(dir), [], 'files left in the cache folder');
  assert.deepEqual(openFilesUnder(dir), [], 'handles left open in the cache folder');
}

describe('EstimateRecorder, cancelled', () => {
  test('leaves nothing when cancelled while its first chunk waits for the cache file to open', async () => {
    const opening = gate();
    let asked!: () => void;
    const openAsked = new Promise<void>((r) => (asked = r));
    const s = setup({
      beforeOpen: () => {
        asked();
        return opening.opened;
      },
    });
    const running = s.run();
    await openAsked;
    const aborting = s.recorder.abort();
    opening.open();
    await Promise.all([running, aborting]);
    assertNothingLeft(s.dir);
    assert.equal(await s.recorder.commit(), null);
  });

  test('opens no cache file for a batch the network answers after the job was cancelled', async () => {
    const second = gate();
    let started!: () => void;
    const secondStarted = new Promise<void>((r) => (started = r));
    const s = setup({
      beforeRun: async (call) => {
        if (call < 2) return;
        started();
        await second.opened;
      },
    });
    await s.run();
    assert.equal(readdirSync(s.dir).length, 1, 'the first chunk is being recorded');
    const running = s.run();
    await secondStarted;
    await s.recorder.abort();
    second.open();
    await running;
    assertNothingLeft(s.dir);
  });

  test('opens no cache file for the first batch when the job was cancelled before the network answered', async () => {
    const first = gate();
    let started!: () => void;
    const firstStarted = new Promise<void>((r) => (started = r));
    const s = setup({
      beforeRun: async () => {
        started();
        await first.opened;
      },
    });
    const running = s.run();
    await firstStarted;
    await s.recorder.abort();
    first.open();
    await running;
    assertNothingLeft(s.dir);
  });

  test('still records a whole song that is not cancelled', async () => {
    const s = setup();
    await s.run();
    await s.run();
    assert.ok((await s.recorder.commit())! > 0);
    assert.deepEqual(readdirSync(s.dir), ['k.xest']);
    assert.deepEqual(openFilesUnder(s.dir), []);
  });
});
