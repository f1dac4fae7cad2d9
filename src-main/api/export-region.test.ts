import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { basename, join } from 'node:path';
import { dispatchCall } from './dispatch.ts';
import { SOURCES } from './testing/fakes.ts';
import { fakeStudio } from './testing/studio.ts';

const RATE = 44100;
/** Three seconds: long enough for the stretcher to settle inside a part of it. */
const FRAMES = 3 * RATE;

/**
 * A separated song whose stems differ from frame to frame (the fake engine writes constants, which would hide a
 * part taken from the wrong place): stem k is a tone of its own pitch, the right channel a different one.
 */
async function separated() {
  const studio = await fakeStudio('xumx-export-region-', { frames: FRAMES });
  const { audio, service } = studio;
  const [job] = await service.open(['/songs/a.wav']);
  await service.idle();
  const paths = (await service.listJobs())[0].result!.stemPaths;
  SOURCES.forEach((s, k) => {
    const tone = (hz: number) =>
      Float32Array.from({ length: FRAMES }, (_, i) => 0.2 * Math.sin((2 * Math.PI * hz * i) / RATE) + (i % 7) / 1000);
    audio.files.set(paths[s], { sampleRate: RATE, channels: [tone(220 * (k + 1)), tone(330 * (k + 1))] });
  });
  return { ...studio, job };
}

const mixOf = (jobId: string, folder: string, extra: object = {}) => ({
  jobId,
  gains: { vocals: 1, drums: 0.5, bass: 0, other: 0.7 },
  folder,
  name: 'a (mix)',
  format: 'wav' as const,
  bitDepth: '32f' as const,
  ...extra,
});

describe('export of the loop region', () => {
  test('writes only the part of the mix, sample for sample the same as that part of the whole mix', async () => {
    const t = await separated();
    const region = { start: 0.5, end: 1.2345 };
    const whole = t.audio.decodeFile((await t.service.exportMix(mixOf(t.job.id, join(t.dir, 'out')))).files[0]);
    const part = t.audio.decodeFile(
      (await t.service.exportMix(mixOf(t.job.id, join(t.dir, 'out'), { region }))).files[0],
    );
    const [from, to] = [Math.round(region.start * RATE), Math.round(region.end * RATE)];
    for (let c = 0; c < 2; c++) assert.deepEqual(part.channels[c], whole.channels[c].slice(from, to), `channel ${c}`);
    await t.done();
  });

  test('writes only the part of each chosen stem, at the song own tempo and key given explicitly too', async () => {
    const t = await separated();
    const region = { start: 1, end: 2.75 };
    const req = { jobId: t.job.id, sources: ['drums', 'other'], format: 'wav' as const, bitDepth: '32f' as const };
    const whole = await t.service.exportStems({ ...req, folder: join(t.dir, 'whole') });
    const part = await t.service.exportStems({
      ...req,
      folder: join(t.dir, 'part'),
      region,
      timePitch: { tempo: 1, semitones: 0 },
    });
    for (let k = 0; k < 2; k++) {
      const w = t.audio.decodeFile(whole.files[k]);
      const p = t.audio.decodeFile(part.files[k]);
      for (let c = 0; c < 2; c++)
        assert.deepEqual(
          p.channels[c],
          w.channels[c].slice(RATE, Math.round(2.75 * RATE)),
          `${req.sources[k]} channel ${c}`,
        );
    }
    await t.done();
  });

  test('stretches the part like the whole: its length is the part length divided by the tempo', async () => {
    const t = await separated();
    const region = { start: 0.25, end: 2.1 };
    const frames = Math.round(2.1 * RATE) - Math.round(0.25 * RATE);
    const slow = { tempo: 0.8, semitones: -2 };
    const mix = t.audio.decodeFile(
      (await t.service.exportMix(mixOf(t.job.id, join(t.dir, 'm'), { region, timePitch: slow }))).files[0],
    );
    assert.ok(
      Math.abs(mix.channels[0].length - frames / 0.8) <= 1,
      `mix of ${mix.channels[0].length} frames, expected ${frames / 0.8}`,
    );
    const stems = await t.service.exportStems({
      jobId: t.job.id,
      sources: ['vocals'],
      folder: join(t.dir, 's'),
      format: 'wav',
      bitDepth: '32f',
      region,
      timePitch: { tempo: 1.25, semitones: 3 },
    });
    const vocals = t.audio.decodeFile(stems.files[0]);
    assert.ok(
      Math.abs(vocals.channels[1].length - frames / 1.25) <= 1,
      `stem of ${vocals.channels[1].length} frames, expected ${frames / 1.25}`,
    );
    assert.ok(
      vocals.channels[1].some((v) => Math.abs(v) > 0.05),
      'the stretched part is not silent',
    );
    await t.done();
  });

  test('refuses a region that is not a part of the song, naming the song, and writes nothing', async () => {
    const t = await separated();
    const folder = join(t.dir, 'bad');
    const duration = FRAMES / RATE;
    const regions: unknown[] = [
      null,
      'all',
      [0, 1],
      { start: 0 },
      { start: '0', end: 1 },
      { start: 0, end: 1, name: 'x' },
      { start: Number.NaN, end: 1 },
      { start: 0, end: Number.NaN },
      { start: -0.5, end: 1 },
      { start: 2, end: 1 },
      { start: 1, end: 1 },
      { start: 1, end: duration + 0.5 },
      { start: 0, end: Number.POSITIVE_INFINITY },
    ];
    for (const region of regions) {
      const calls: [string, object][] = [
        ['exportMix', mixOf(t.job.id, folder, { region })],
        ['exportStems', { jobId: t.job.id, sources: ['bass'], folder, format: 'wav', bitDepth: 16, region }],
        ['exportStemFile', { jobId: t.job.id, folder, codec: 'aac', bitDepth: 16, region }],
      ];
      for (const [method, req] of calls) {
        const r = await dispatchCall(t.service, method, [req]);
        assert.equal(r.ok ? 'ok' : r.error.code, 'BAD_ARGUMENT', `${method} with ${String(JSON.stringify(region))}`);
        if (!r.ok) assert.ok(r.error.message.includes('a.wav'), `"${r.error.message}" does not name the song`);
      }
    }
    assert.deepEqual(
      [...t.audio.files.keys()].filter((p) => p.startsWith(folder)),
      [],
    );
    assert.equal(t.audio.stemFiles.size, 0);
    await t.done();
  });

  test('names a part apart from the whole song, so exporting it never meets the whole export', async () => {
    const t = await separated();
    const folder = join(t.dir, 'out');
    const region = { start: 62.5 / 30, end: 2.96 };
    const stems = { jobId: t.job.id, sources: ['bass'], folder, format: 'wav' as const, bitDepth: 16 as const };
    const whole = [
      ...(await t.service.exportStems(stems)).files,
      ...(await t.service.exportMix(mixOf(t.job.id, folder))).files,
    ];
    // No overwrite: the part's names must be free although the whole song's files are in the folder.
    const part = [
      ...(await t.service.exportStems({ ...stems, region })).files,
      ...(await t.service.exportMix(mixOf(t.job.id, folder, { region }))).files,
    ];
    assert.deepEqual(
      part.map((f) => basename(f)),
      ['a - bass [0m02.1s-0m03.0s].wav', 'a (mix) [0m02.1s-0m03.0s].wav'],
    );
    assert.deepEqual(
      whole.map((f) => basename(f)),
      ['a - bass.wav', 'a (mix).wav'],
    );
    await t.done();
  });

  test("writes a stem file of the part alone, named apart from the whole song's", async () => {
    const t = await separated();
    const folder = join(t.dir, 'dj');
    const req = { jobId: t.job.id, folder, codec: 'aac' as const, bitDepth: 16 as const };
    const whole = await t.service.exportStemFile(req);
    const part = await t.service.exportStemFile({ ...req, region: { start: 0.5, end: 1.25 } });
    assert.deepEqual(
      [...whole.files, ...part.files].map((f) => basename(f)),
      ['a.stem.mp4', 'a [0m00.5s-0m01.3s].stem.mp4'],
    );
    assert.equal(t.audio.stemFiles.get(whole.files[0])?.opts.region, undefined);
    assert.deepEqual(t.audio.stemFiles.get(part.files[0])?.opts.region, { start: 0.5, end: 1.25 });
    await t.done();
  });

  test('names the exports of a song whose name takes 250 bytes within 255 bytes, each apart', async () => {
    const long = '音'.repeat(83) + 'a';
    const t = await fakeStudio('xumx-export-long-', { frames: FRAMES });
    const [job] = await t.service.open([`/songs/${long}.wav`]);
    await t.service.idle();
    const folder = join(t.dir, 'out');
    const region = { start: 0.5, end: 1.25 };
    const bytes = (p: string) => Buffer.byteLength(basename(p));
    const files = [
      ...(await t.service.exportMix(mixOf(job.id, folder, { name: `${long} (no vocals)`, region }))).files,
      ...(await t.service.exportStems({ jobId: job.id, sources: [...SOURCES], folder, format: 'flac', bitDepth: 16 }))
        .files,
    ];
    for (const f of files) {
      assert.ok(bytes(f) <= 255, `${bytes(f)} bytes: ${basename(f)}`);
      assert.ok(basename(f).startsWith('音'.repeat(50)), basename(f));
    }
    assert.equal(new Set(files).size, files.length, 'no two exports share a name');
    assert.match(basename(files[0]), / \[0m00\.5s-0m01\.3s\]\.wav$/, 'the part and the extension are kept');
    await t.done();
  });
});
