// The prepared song's temporary file (decoded, stereo, 44.1 kHz float32: 2.5 GB for two hours) through the app's
// service with the real engine and the bundled model: kept while a finished song can still be re-rendered, and
// gone as soon as the song is removed or its separation is cancelled, not when the next song is prepared.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile, decodeStream } from '../../src-main/engine/audio/decode.ts';
import { createStemWriter } from '../../src-main/engine/audio/stem-writer.ts';
import { stemFileFromStemFiles } from '../../src-main/engine/audio/stem-file.ts';
import { smallTestEngine } from './helpers/engine.ts';
import { withModelFallback } from '../../src-main/api/models.ts';
import { StudioService } from '../../src-main/api/service.ts';
import { defaultSettings, openSettingsStore } from '../../src-main/api/settings-store.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';

/** Waits (a bounded number of times) until the folder holds no file. */
async function emptied(dir: string, what: string): Promise<void> {
  for (let i = 0; readdirSync(dir).length > 0; i++) {
    assert.ok(i < 500, `${what}: ${readdirSync(dir).join(', ')} is still there`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the prepared song's temporary file, with the real engine", () => {
  const dir = tempDir('xumx-prepared-release-it-');
  let service: StudioService | undefined;

  after(async () => {
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('stays while the song can be re-rendered and goes when it is removed or cancelled', async () => {
    const songs = join(dir, 'songs');
    const short = join(dir, 'short.wav');
    const long = join(dir, 'long.wav');
    await makeSong(short, { seconds: 3, seed: 2 });
    await makeSong(long, { seconds: 40, seed: 3 });
    const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
    service = new StudioService({
      // Wrapped as the app wraps it (create-studio.ts).
      engine: withModelFallback(smallTestEngine(dir, { songFolder: songs })),
      audio: { decodeFile, decodeStream, createStemWriter, stemFileFromStemFiles },
      settings,
      listenDir: join(dir, 'listening'),
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    });

    const [done] = await service.open([short]);
    await service.idle();
    assert.equal((await service.listJobs())[0].state, 'done');
    assert.equal(readdirSync(songs).length, 1, 'kept for re-renders');
    await service.remove(done.id);
    await emptied(songs, 'removed');

    const s = service;
    const [cancelled] = await s.open([long]);
    const off = s.onEvent((e) => {
      if (e.type === 'job' && e.job.id === cancelled.id && ['wiener', 'encode'].includes(e.job.progress?.stage ?? ''))
        void s.cancel(cancelled.id);
    });
    await s.idle();
    off();
    assert.equal((await s.listJobs())[0].state, 'cancelled', 'cancelled in its chunk loop');
    await emptied(songs, 'cancelled');
  });
});
