import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { EstimateFileReader } from '../cache/estimate-file.ts';
import type { InstalledModel } from '../model/registry.ts';
import type { PreparedSong } from './pipeline.ts';
import { RegionKeeper, type KeptSong } from './region-keeper.ts';

/** A kept song whose prepared samples count their releases. */
function kept(input: string): KeptSong & { released: () => number } {
  let released = 0;
  const song = { song: { release: async () => void released++ } } as unknown as PreparedSong;
  return {
    input,
    modelId: 'm',
    stamp: 's',
    installed: {} as InstalledModel,
    source: { kind: 'cache', reader: {} as EstimateFileReader },
    song,
    released: () => released,
  };
}

describe('RegionKeeper', () => {
  test("keeps a song's chunks for one set of controls; a newer render's controls start afresh", async () => {
    const keeper = new RegionKeeper();
    const a = kept('a.wav');
    await keeper.keep(a);
    const first = keeper.chunksFor(a, '{"strength":1}');
    first.keep(3, [[new Float32Array(4)]]);
    assert.equal(keeper.chunksFor(a, '{"strength":1}'), first);
    const newer = keeper.chunksFor(a, '{"strength":2}');
    assert.notEqual(newer, first);
    assert.equal(newer.has(3), false, "the older controls' chunk is not served for the newer ones");
    await keeper.forget();
  });

  test('lets a song go when it is removed (its input named) or another is kept, and then holds none of its chunks', async () => {
    const keeper = new RegionKeeper();
    const a = kept('a.wav');
    await keeper.keep(a);
    keeper.chunksFor(a, 'c').keep(0, [[new Float32Array(4)]]);
    await keeper.forget('other.wav');
    assert.equal(a.released(), 0, "another song's removal keeps it");
    assert.equal(keeper.find('a.wav', 'm'), a);
    await keeper.forget('a.wav');
    assert.equal(a.released(), 1, 'its prepared song is let go once');
    assert.equal(keeper.find('a.wav', 'm'), undefined);
    assert.equal(keeper.chunksFor(a, 'c').has(0), false);

    const b = kept('b.wav');
    const c = kept('c.wav');
    await keeper.keep(b);
    keeper.chunksFor(b, 'same').keep(0, [[new Float32Array(4)]]);
    await keeper.keep(c);
    assert.equal(keeper.chunksFor(c, 'same').has(0), false, "another song's chunks are never served");
    keeper.chunksFor(c, 'same').keep(1, [[new Float32Array(4)]]);
    assert.equal(keeper.chunksFor(b, 'same').has(1), false, 'nor to a song let go while its part was rendered');
    assert.equal(b.released(), 1, 'the song kept before is let go');
    assert.equal(keeper.find('b.wav', 'm'), undefined);
    assert.equal(keeper.find('c.wav', 'other-model'), undefined, 'kept for one model only');
    await keeper.forget();
    assert.equal(c.released(), 1);
  });

  test('lets the song go when no part is asked for a while', async () => {
    const keeper = new RegionKeeper(1);
    const a = kept('a.wav');
    await keeper.keep(a);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(a.released(), 1);
    assert.equal(keeper.input, null);
  });
});
