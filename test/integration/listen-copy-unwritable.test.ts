// A listening copy that cannot be written, through the app's service with the real engine and the bundled model: the
// separation and its stems do not depend on it. The job is done, its view says why the copy is missing, and once
// its folder can be written the copy is made again from the stems when a block is asked for, equal to them.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFile, decodeStream } from '../../src-main/engine/audio/decode.ts';
import { createStemWriter } from '../../src-main/engine/audio/stem-writer.ts';
import { stemFileFromStemFiles } from '../../src-main/engine/audio/stem-file.ts';
import { smallTestEngine } from './helpers/engine.ts';
import { StudioService } from '../../src-main/api/service.ts';
import { defaultSettings, openSettingsStore } from '../../src-main/api/settings-store.ts';
import { makeSong, tempDir } from '../fixtures/audio.ts';

const RATE = 44100;

describe('a listening copy whose folder cannot be written, with the real engine', () => {
  const dir = tempDir('xumx-listen-unwritable-it-');
  let service: StudioService | undefined;

  after(async () => {
    await service?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the song separates, its view says why the copy is missing, and the copy comes back from the stems', async () => {
    const song = join(dir, 'song.wav');
    await makeSong(song, { seconds: 4, seed: 9, sampleRate: RATE, bitDepth: 16 });
    const listening = join(dir, 'listening');
    writeFileSync(listening, 'a file where the copies folder should be');
    const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
    await settings.update({ format: 'wav', bitDepth: 24 });
    service = new StudioService({
      engine: smallTestEngine(dir),
      audio: { decodeFile, decodeStream, createStemWriter, stemFileFromStemFiles },
      settings,
      listenDir: listening,
      capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    });
    const [opened] = await service.open([song]);
    await service.idle();
    const done = (await service.listJobs())[0];
    assert.equal(done.state, 'done', done.error?.message);
    for (const path of Object.values(done.result!.stemPaths)) assert.ok(existsSync(path), path);
    const listen = done.listen!;
    assert.equal(listen.readyFrames, 0);
    assert.equal(listen.complete, true);
    assert.match(listen.notWritten ?? '', /listening: the listening copy cannot be written there/);
    assert.ok(done.result!.notices.includes(listen.notWritten!), JSON.stringify(done.result!.notices));

    rmSync(listening);
    assert.equal((await service.listen(opened.id, '0', '0', '10')).kind, 'not-ready', 'being written from the stems');
    const listenOf = async () => (await service!.listJobs())[0].listen!;
    for (let i = 0; (await listenOf()).readyFrames !== listen.frames; i++) {
      assert.ok(i < 1000, 'the copy comes back');
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal((await listenOf()).notWritten, undefined, 'written now');
    for (let i = 0; (await service.listJobs())[0].result!.notices.includes(listen.notWritten!); i++) {
      assert.ok(i < 1000, "the song's notice that its copy is missing goes once the copy is written");
      await new Promise((r) => setTimeout(r, 10));
    }
    const from = Math.round(1.1 * RATE);
    const answer = await service.listen(opened.id, '0', String(from), String(RATE));
    if (answer.kind !== 'audio') assert.fail(`${answer.kind}: ${answer.message}`);
    const path = join(dir, 'block.wav');
    writeFileSync(path, answer.wav);
    const block = (await decodeFile(path)).channels;
    let worst = 0;
    for (const [k, source] of listen.sources.entries()) {
      const stem = (await decodeFile(done.result!.stemPaths[source])).channels;
      for (const c of [0, 1])
        block[2 * k + c].forEach((v, i) => {
          worst = Math.max(worst, Math.abs(v - stem[c][from + i]));
        });
    }
    assert.ok(worst <= 1e-4, `off the stems by ${worst}`);
    assert.equal(readdirSync(listening).length, 1, 'one copy, written again');
  });
});
