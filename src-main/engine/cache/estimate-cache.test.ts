import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XumxError } from '../errors.ts';
import { CACHE_EXT, EstimateCache, estimateKey, hashFile } from './estimate-cache.ts';
import { checksum } from './checksum.ts';
import {
  HEADER_BYTES,
  readRecord,
  recordCorrupt,
  type EstimateFileReader,
  type EstimateHeader,
} from './estimate-file.ts';
import { onSmallDisk } from '../../../test/fixtures/small-disk.ts';
import { openFilesUnder } from '../../../test/fixtures/open-files.ts';

const tmp = () => mkdtempSync(join(tmpdir(), 'xumx-cache-'));

/** The next chunk's payload as a re-render's thread reads it: the claimed record, its checksum checked. */
function readChunk(r: EstimateFileReader): Uint8Array {
  const where = r.claimChunk();
  const { payload, checksum: expected } = readRecord(where);
  if (checksum(payload) !== expected) throw recordCorrupt(where, 'checksum mismatch');
  return payload;
}

function header(key: string, frames = 3): Omit<EstimateHeader, 'chunks'> {
  return {
    key,
    modelId: 'm',
    modelSha256: 'a'.repeat(64),
    sources: ['a', 'b'],
    bins: 5,
    frames,
    codec: 'float24',
    ep: 'cpu',
    segmentFrames: 3,
    overlapFrames: 1,
  };
}
const chunkOf = (fill: number, n = 2 * 2 * 5 * 3 * 3) =>
  Uint8Array.from({ length: n }, (_, i) => (fill * 31 + i) & 0xff);

async function store(cache: EstimateCache, key: string, chunks: number): Promise<void> {
  const w = await cache.writer(header(key));
  for (let c = 0; c < chunks; c++) await w.append(chunkOf(c));
  await w.commit();
}

describe('EstimateCache', () => {
  test('keeps a song analysis beside its entry and removes it with the entry', async () => {
    const dir = tmp();
    const cache = new EstimateCache({ dir });
    await store(cache, 'k9', 1);
    assert.equal(await cache.readAnalysis('k9'), null);
    const analysis = {
      bpm: 96,
      beats: [0.1, 0.725],
      downbeats: [0.1],
      beatsPerBar: 4 as const,
      key: { tonic: 'D' as const, mode: 'minor' as const },
      confidence: { tempo: 0.6, key: 0.8 },
    };
    await cache.writeAnalysis('k9', analysis);
    assert.deepEqual(await cache.readAnalysis('k9'), analysis);
    await cache.remove('k9');
    assert.equal(await cache.readAnalysis('k9'), null);
    assert.deepEqual(readdirSync(dir), []);
  });

  test('reads a damaged analysis file as none, so the song is measured again', async () => {
    const dir = tmp();
    const cache = new EstimateCache({ dir });
    writeFileSync(join(dir, 'k8.analysis.json'), '{"bpm": 12');
    assert.equal(await cache.readAnalysis('k8'), null);
  });

  test('gives back exactly the chunks that were written, in order', async () => {
    const cache = new EstimateCache({ dir: tmp() });
    await store(cache, 'k1', 3);
    const r = (await cache.lookup('k1', { sources: ['a', 'b'] }))!;
    assert.equal(r.header.chunks, 3);
    for (let c = 0; c < 3; c++) assert.deepEqual(new Uint8Array(readChunk(r)), chunkOf(c));
    assert.throws(
      () => readChunk(r),
      (e: XumxError) => e.code === 'CACHE_CORRUPT',
    );
    await r.close();
  });

  test('an entry that is not committed is invisible, and an aborted one leaves no file', async () => {
    const dir = tmp();
    const cache = new EstimateCache({ dir });
    const w = await cache.writer(header('k2'));
    await w.append(chunkOf(0));
    assert.equal(await cache.lookup('k2', {}), null);
    await w.abort();
    assert.deepEqual(readdirSync(dir), []);
  });

  test('a writer aborted while a chunk or its commit is on its way leaves no partial file and no open handle', async () => {
    const dir = tmp();
    const cache = new EstimateCache({ dir });
    const w = await cache.writer(header('k3'));
    const appending = w.append(chunkOf(0)).catch((e: unknown) => e);
    await w.abort();
    await appending;
    await assert.rejects(w.append(chunkOf(1)));
    assert.deepEqual(readdirSync(dir), []);
    assert.deepEqual(openFilesUnder(dir), []);

    const c = await cache.writer(header('k4'));
    await c.append(chunkOf(0));
    const committing = c.commit().catch((e: unknown) => e);
    await c.abort();
    await committing;
    assert.deepEqual(
      readdirSync(dir).filter((n) => n.endsWith('.partial')),
      [],
    );
    assert.deepEqual(openFilesUnder(dir), []);
  });

  test('detects a flipped byte, a truncated file, a wrong header and a mismatching job, and deletes the entry', async () => {
    const damage: Record<string, (path: string) => void> = {
      'payload byte': (p) => {
        const b = readFileSync(p);
        b[HEADER_BYTES + 100] ^= 0xff;
        writeFileSync(p, b);
      },
      truncation: (p) => writeFileSync(p, readFileSync(p).subarray(0, statSync(p).size - 10)),
      'header byte': (p) => {
        const b = readFileSync(p);
        b[30] ^= 0x01;
        writeFileSync(p, b);
      },
      magic: (p) => {
        const b = readFileSync(p);
        b.write('NOTMAGIC', 0, 'latin1');
        writeFileSync(p, b);
      },
    };
    for (const [what, hurt] of Object.entries(damage)) {
      const cache = new EstimateCache({ dir: tmp() });
      await store(cache, 'k', 2);
      hurt(cache.pathFor('k'));
      const seen: XumxError[] = [];
      const r = await cache.lookup('k', {}, (e) => seen.push(e));
      if (r) {
        // Payload damage shows on reading the chunk, not on opening.
        assert.throws(
          () => [readChunk(r), readChunk(r)],
          (e: XumxError) => e.code === 'CACHE_CORRUPT',
          `${what}: not detected`,
        );
        await r.close();
        continue;
      }
      assert.equal(seen[0]?.code, 'CACHE_CORRUPT', what);
      assert.deepEqual(readdirSync(cache.dir), [], `${what}: the entry is deleted`);
    }
    const cache = new EstimateCache({ dir: tmp() });
    await store(cache, 'k', 1);
    const seen: XumxError[] = [];
    assert.equal(await cache.lookup('k', { sources: ['vocals', 'other'] }, (e) => seen.push(e)), null);
    assert.match(seen[0].message, /sources differs/);
  });

  test('evicts least recently used entries past the size cap, never the one just written', async () => {
    const dir = tmp();
    const probe = new EstimateCache({ dir: tmp() });
    await store(probe, 'x', 2);
    const entry = statSync(probe.pathFor('x')).size;
    const cache = new EstimateCache({ dir, maxBytes: entry * 2 });
    for (const [i, k] of ['old', 'mid', 'new'].entries()) {
      await store(cache, k, 2);
      const t = new Date(Date.now() - (3 - i) * 60_000);
      utimesSync(cache.pathFor(k), t, t);
    }
    // Using "old" makes it the most recently used: "mid" goes first.
    (await cache.lookup('old', {}))!.close();
    await store(cache, 'newest', 2);
    const evicted = await cache.evict('newest');
    assert.deepEqual(evicted.sort(), ['mid', 'new']);
    assert.deepEqual(readdirSync(dir).sort(), [`newest${CACHE_EXT}`, `old${CACHE_EXT}`]);
    assert.ok((await cache.size()) <= cache.maxBytes);
  });

  test('keys depend on the audio bytes and the network, nothing else', () => {
    const k = estimateKey({ inputSha256: '1'.repeat(64), modelSha256: '2'.repeat(64) });
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(k, estimateKey({ inputSha256: '1'.repeat(64), modelSha256: '2'.repeat(64) }));
    assert.notEqual(k, estimateKey({ inputSha256: '1'.repeat(64), modelSha256: '3'.repeat(64) }));
    assert.notEqual(k, estimateKey({ inputSha256: '4'.repeat(64), modelSha256: '2'.repeat(64) }));
  });

  // A special file never ends (or never starts): hashing it would hang the job, the queue and shutdown.
  test(
    'refuses a named pipe or a device before reading it, as a file that cannot be read',
    { timeout: 20_000 },
    async () => {
      const dir = tmp();
      const fifo = join(dir, 'pipe.wav');
      execFileSync('mkfifo', [fifo]);
      const zero = join(dir, 'zero.wav');
      symlinkSync('/dev/zero', zero);
      for (const path of [fifo, zero]) {
        await assert.rejects(hashFile(path), (e: XumxError) => {
          assert.equal(e.code, 'FILE_UNREADABLE');
          assert.equal(e.file, path);
          assert.match(e.message, /not a regular file/);
          return true;
        });
      }
    },
  );

  test('stops hashing when the job is cancelled', { timeout: 60_000 }, async () => {
    const big = join(tmp(), 'long.wav');
    writeFileSync(big, 'RIFF');
    truncateSync(big, 8 * 1024 ** 3); // sparse: costs no disk, but takes a while to read
    const before = new AbortController();
    before.abort();
    await assert.rejects(hashFile(big, before.signal), (e: XumxError) => e.code === 'CANCELLED');
    const during = new AbortController();
    const hashing = hashFile(big, during.signal);
    setImmediate(() => during.abort());
    await assert.rejects(hashing, (e: XumxError) => e.code === 'CANCELLED' && e.file === big);
  });

  test('a chunk the disk takes only in part fails the write, and nothing is committed', async (t) => {
    const dir = tmp();
    await onSmallDisk(t, dir, '8k', async () => {
      // 4096 header bytes fit and leave one page: the chunk's record (8 + 18,000 bytes) is written only in part.
      const cache = new EstimateCache({ dir });
      const w = await cache.writer({ ...header('full'), bins: 500 });
      const chunk = chunkOf(1, 2 * 2 * 500 * 3 * 3);
      const written = await w
        .append(chunk)
        .then(() => w.commit())
        .then(
          (size) => `committed ${size} bytes`,
          (e: XumxError) => e,
        );
      assert.ok(written instanceof XumxError, `the short write went unnoticed: ${String(written)}`);
      assert.equal(written.code, 'DISK_FULL', written.message);
      await w.abort();
      assert.deepEqual(readdirSync(dir), []);
    });
  });
});
