import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, rename, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../../test/fixtures/audio.ts';
import { XumxError } from '../errors.ts';
import { tempName, THIS_HOST } from '../temp-files.ts';
import { endedPid } from '../testing/ended-process.ts';
import { decodeStream } from './decode.ts';
import { closeStems, openStems, type StemStream } from './stem-reader.ts';
import { writeAudioFile } from './stem-writer.ts';

const SOURCES = ['vocals', 'drums', 'bass', 'other'];
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A song's stem folder with one render written: every sample of a stem is `value`. */
async function stemFolder(value: number): Promise<{ dir: string; paths: string[] }> {
  const dir = tempDir('xumx-stem-reader-');
  dirs.push(dir);
  await writeRender(dir, value);
  return { dir, paths: SOURCES.map((s) => join(dir, `${s}.wav`)) };
}

/** Writes a render of `value` beside the stems and renames each into place, as a commit does. */
async function writeRender(dir: string, value: number, commit = true): Promise<void> {
  const temps = SOURCES.map((s) => join(dir, tempName(`${s}.wav`)));
  for (const t of temps)
    await writeAudioFile(t, [new Float32Array(1000).fill(value)], {
      format: 'wav',
      bitDepth: '32f',
      sampleRate: 44100,
      channels: 1,
    });
  if (commit) for (const [k, s] of SOURCES.entries()) await rename(temps[k], join(dir, `${s}.wav`));
}

/**
 * A commit under way in `dir`: its journal written (and `meanwhile` done) now; the new render, every sample 0.75,
 * renamed in and the journal removed 300 ms later, when the promise given back resolves.
 */
async function commitLanding(dir: string, meanwhile?: () => Promise<void>): Promise<Promise<void>> {
  const journal = join(dir, tempName('stems', 'commit'));
  await writeFile(journal, '{}');
  await meanwhile?.();
  return (async () => {
    await new Promise((r) => setTimeout(r, 300));
    await writeRender(dir, 0.75);
    await rm(journal);
  })();
}

async function firstSamples(
  paths: string[],
  decode: (p: string) => Promise<StemStream> = (p) => decodeStream(p, { tags: false }),
) {
  const readers = await openStems(paths, decode, { commitWaitMs: 2000 });
  try {
    return await Promise.all(readers.map(async (r) => (await r.next())![0][0]));
  } finally {
    await closeStems(readers);
  }
}

describe('openStems: one render at a time', () => {
  test('stems opened while a new render replaces them all come from the new render, none from the old', async () => {
    const { dir, paths } = await stemFolder(0.25);
    let replaced = false;
    const values = await firstSamples(paths, async (p) => {
      const s = await decodeStream(p, { tags: false });
      // The first stem is open; a re-render's commit lands before the second is.
      if (!replaced) {
        replaced = true;
        await writeRender(dir, 0.5);
      }
      return s;
    });
    assert.ok(replaced);
    assert.deepEqual(values, [0.5, 0.5, 0.5, 0.5]);
  });

  test("a commit's journal in the folder is waited out; the stems then opened are the new render's", async () => {
    const { dir, paths } = await stemFolder(0.25);
    const started = Date.now();
    const landing = await commitLanding(dir);
    const values = await firstSamples(paths);
    await landing;
    assert.ok(Date.now() - started >= 250, 'opened before the commit ended');
    assert.deepEqual(values, [0.75, 0.75, 0.75, 0.75]);
  });

  test('a stem set aside by a commit underway (not there for a moment) is waited for, not refused', async () => {
    const { dir, paths } = await stemFolder(0.25);
    const landing = await commitLanding(dir, () => rename(paths[2], join(dir, tempName('bass.wav', 'aside'))));
    const values = await firstSamples(paths);
    await landing;
    assert.deepEqual(values, [0.75, 0.75, 0.75, 0.75]);
    // Without a commit underway, a missing stem is just that.
    await rm(paths[1]);
    await assert.rejects(firstSamples(paths), { code: 'FILE_NOT_FOUND', file: paths[1] });
  });

  test('stems that are links to the files are opened at once', async () => {
    const { paths } = await stemFolder(0.25);
    const links = tempDir('xumx-stem-links-');
    dirs.push(links);
    const linked = paths.map((p, k) => join(links, `${SOURCES[k]}.wav`));
    for (const [k, p] of paths.entries()) await symlink(p, linked[k]);
    const started = Date.now();
    assert.deepEqual(await firstSamples(linked), [0.25, 0.25, 0.25, 0.25]);
    assert.ok(Date.now() - started < 1000);
  });

  test('an aborted signal stops the wait for a commit with CANCELLED', async () => {
    const { dir, paths } = await stemFolder(0.25);
    await writeFile(join(dir, tempName('stems', 'commit')), '{}');
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 200);
    const started = Date.now();
    await assert.rejects(
      openStems(paths, (p) => decodeStream(p, { tags: false }), { commitWaitMs: 5000, signal: stop.signal }),
      { code: 'CANCELLED' },
    );
    assert.ok(Date.now() - started < 2000);
  });

  test('a journal that stays makes it give up with OUTPUT_BUSY naming the stem folder', async () => {
    const { dir, paths } = await stemFolder(0.25);
    await writeFile(join(dir, tempName('stems', 'commit')), '{}');
    const started = Date.now();
    await assert.rejects(
      openStems(paths, (p) => decodeStream(p, { tags: false }), { commitWaitMs: 300 }),
      (e: unknown) =>
        e instanceof XumxError &&
        e.code === 'OUTPUT_BUSY' &&
        e.file === dir &&
        e.message.startsWith(`${dir}: a render is replacing this song's stems`),
    );
    assert.ok(Date.now() - started >= 300);
  });

  test('a journal left by a process that ended mid-commit fails at once, saying how to put the stems right', async () => {
    const { dir, paths } = await stemFolder(0.25);
    await writeFile(join(dir, `.stems.xumx-${THIS_HOST}-${endedPid()}-0123abcd-0123abcd.commit`), '{}');
    const started = Date.now();
    await assert.rejects(
      openStems(paths, (p) => decodeStream(p, { tags: false }), { commitWaitMs: 5000 }),
      (e: unknown) =>
        e instanceof XumxError &&
        e.code === 'OUTPUT_BUSY' &&
        e.message ===
          `${dir}: a render that was stopped while it replaced this song's stems left them half replaced; ` +
            'separate the song again (or change a control) to put them right',
    );
    assert.ok(Date.now() - started < 4000, 'waited for a commit that will not end');
  });

  test('a single stem, and stems whose decoder does not say which file it opened, are taken as they are', async () => {
    const { dir, paths } = await stemFolder(0.25);
    await writeFile(join(dir, tempName('stems', 'commit')), '{}');
    assert.deepEqual(await firstSamples(paths.slice(0, 1)), [0.25]);
    const anonymous = async (p: string) => {
      const { fileId: _id, ...s } = await decodeStream(p, { tags: false });
      return s;
    };
    assert.deepEqual(await firstSamples(paths, anonymous), [0.25, 0.25, 0.25, 0.25]);
  });
});
