// The MP4 box walker on crafted indexes: it must stay linear in the size of the index whatever the tables say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { box, fullBox } from '../../../test/fixtures/mp4-edit.ts';
import { readMp4Layout } from './mp4-boxes.ts';

const be32 = (...v: number[]) =>
  Buffer.concat(
    v.map((x) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(x >>> 0);
      return b;
    }),
  );

/** A sound track whose sample table has the given chunk offsets, chunk map (stsc) and sample sizes. */
function soundTrack(stco: Buffer, stsc: Buffer, stsz: Buffer): Buffer {
  const hdlr = fullBox('hdlr', Buffer.alloc(4), Buffer.from('soun', 'latin1'), Buffer.alloc(13));
  const stsd = fullBox('stsd', be32(1), box('mp4a', Buffer.alloc(28)));
  return box('trak', box('mdia', hdlr, box('minf', box('stbl', stsd, stsc, stco, stsz))));
}

test(
  'a chunk map that sends every run back to the first chunk is walked once, not once per run',
  { timeout: 30_000 },
  () => {
    // 50,000 chunks and 20,000 runs alternating between chunk 1 and past the end, each with no samples: a walk that
    // restarts per run does 5e8 steps (minutes); a linear one 50,000.
    const chunks = 50_000;
    const runs = 20_000;
    const stco = fullBox('stco', be32(chunks), Buffer.alloc(chunks * 4, 0x10));
    const stsc = fullBox(
      'stsc',
      be32(runs),
      ...Array.from({ length: runs }, (_, r) => be32(r % 2 ? chunks + 1 : 1, 0, 1)),
    );
    const stsz = fullBox('stsz', be32(1000, 1));
    const file = Buffer.concat([
      box('ftyp', Buffer.from('M4A \0\0\0\0M4A isom', 'latin1')),
      box('moov', soundTrack(stco, stsc, stsz)),
      box('mdat', Buffer.alloc(64)),
    ]);
    const layout = readMp4Layout(file);
    assert.ok(layout.ok);
    assert.equal(layout.audio?.codec, 'mp4a');
  },
);

test('chunks that run past the end of the file make it cut', () => {
  const stco = fullBox('stco', be32(2), be32(100, 5000));
  const stsc = fullBox('stsc', be32(1), be32(1, 1, 1));
  const stsz = fullBox('stsz', be32(0, 2), be32(300, 300));
  const file = Buffer.concat([
    box('ftyp', Buffer.from('M4A \0\0\0\0M4A isom', 'latin1')),
    box('moov', soundTrack(stco, stsc, stsz)),
    box('mdat', Buffer.alloc(600)),
  ]);
  const layout = readMp4Layout(file);
  assert.ok(!layout.ok && layout.cut, JSON.stringify(layout));
});

test('control characters in a box type do not reach the message', () => {
  const file = Buffer.concat([
    box('ftyp', Buffer.from('M4A \0\0\0\0M4A isom', 'latin1')),
    be32(1000),
    Buffer.from('\x1b[2J', 'latin1'),
    Buffer.alloc(16),
  ]);
  const layout = readMp4Layout(file);
  assert.ok(!layout.ok);
  assert.ok(!/[\x00-\x1f]/.test(layout.detail), layout.detail);
});
