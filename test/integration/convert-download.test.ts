// Downloading and installing the official weights, only ever against a local HTTP server on 127.0.0.1: success,
// interruption and resume, 404, HTML pages, truncated files, wrong shapes, a full disk and cancelling.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XumxError } from '../../src-main/engine/errors.ts';
import { downloadFile, partialPath, type OpenWriter } from '../../src-main/engine/convert/download.ts';
import { installPublishedXumx } from '../../src-main/engine/convert/install.ts';
import { modelsInstallMain } from '../../src-main/cli/models-install.ts';
import { scanModels } from '../../src-main/engine/model/registry.ts';
import type { CliIo } from '../../src-main/cli/io.ts';
import { hasH5py, writeNnablaFixture } from './convert-fixtures.ts';

const skip = hasH5py ? false : 'needs Debian python3 with h5py and numpy (python3-h5py)';

function sendRange(res: ServerResponse, body: Buffer, rangeHeader: string | undefined, honourRange = true): void {
  const m = honourRange && rangeHeader ? /^bytes=(\d+)-$/.exec(rangeHeader) : null;
  if (m) {
    const start = Number(m[1]);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
      return;
    }
    res.writeHead(206, {
      'content-type': 'application/x-hdf5',
      'content-length': body.length - start,
      'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
      'accept-ranges': 'bytes',
    });
    res.end(body.subarray(start));
    return;
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': body.length,
    'accept-ranges': 'bytes',
  });
  res.end(body);
}

async function rejectsWith(p: Promise<unknown>, code: string, ...mentions: string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof XumxError, `expected XumxError, got ${err}`);
    assert.equal(err.code, code, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `message should mention "${m}": ${err.message}`);
    return true;
  });
}

function collectIo(): CliIo & { stdout: string; stderr: string } {
  const io = {
    stdout: '',
    stderr: '',
    tty: false,
    columns: 80,
    env: {},
    out(t: string) {
      io.stdout += t;
    },
    err(t: string) {
      io.stderr += t;
    },
    onInterrupt() {},
  };
  return io;
}

describe('downloading and installing the official X-UMX weights from a local server', { skip }, () => {
  let dir: string;
  let small: Buffer; // a valid HDF5 file of the right layout but the wrong size (hidden 16)
  let full: Buffer; // the official layout, random values
  let server: Server;
  let base: string;
  const requests: { url: string; range?: string }[] = [];
  let dropped = new Set<string>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'xumx-download-'));
    writeNnablaFixture(join(dir, 'small.h5'), 3, ['--hidden', '16']);
    writeNnablaFixture(join(dir, 'full.h5'), 4);
    small = readFileSync(join(dir, 'small.h5'));
    full = readFileSync(join(dir, 'full.h5'));
    server = createServer((req, res) => {
      const url = req.url ?? '';
      requests.push({ url, range: req.headers.range });
      const body = url.includes('full') ? full : small;
      if (url.startsWith('/files/')) return sendRange(res, body, req.headers.range);
      if (url.startsWith('/norange/')) return sendRange(res, body, req.headers.range, false);
      if (url.startsWith('/drop-once/')) {
        if (dropped.has(url)) return sendRange(res, body, req.headers.range);
        dropped.add(url);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.write(body.subarray(0, Math.floor(body.length * 0.4)), () => res.socket?.destroy());
        return;
      }
      if (url.startsWith('/cut/')) {
        const cut = body.subarray(0, Math.floor(body.length * 0.6));
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': cut.length }).end(cut);
        return;
      }
      if (url.startsWith('/slow/')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        let at = 0;
        const tick = () => {
          if (res.destroyed || at >= body.length) return void res.end();
          res.write(body.subarray(at, at + 65536));
          at += 65536;
          setTimeout(tick, 15);
        };
        tick();
        return;
      }
      if (url === '/html') {
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end('<!DOCTYPE html><html><body>Moved</body></html>');
        return;
      }
      if (url === '/html-as-octet') {
        res
          .writeHead(200, { 'content-type': 'application/octet-stream' })
          .end('<!DOCTYPE html>\n<html><body>Error 500</body></html>');
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  const fresh = (name: string) => {
    const d = join(dir, name);
    mkdirSync(d, { recursive: true });
    return d;
  };

  test('downloads the whole file with progress and renames it into place', async () => {
    const d = fresh('ok');
    const seen: number[] = [];
    const r = await downloadFile({
      url: `${base}/files/x.h5`,
      dest: join(d, 'x.h5'),
      onProgress: (p) => seen.push(p.received),
    });
    assert.equal(r.size, small.length);
    assert.ok(readFileSync(join(d, 'x.h5')).equals(small));
    assert.deepEqual(readdirSync(d), ['x.h5']);
    assert.equal(seen.at(-1), small.length);
    assert.ok(
      seen.every((v, i) => i === 0 || v >= seen[i - 1]),
      'progress never goes back',
    );
  });

  test('a dropped connection keeps a .partial that the next run resumes with a Range request', async () => {
    const d = fresh('resume');
    const url = `${base}/drop-once/x.h5`;
    await rejectsWith(downloadFile({ url, dest: join(d, 'x.h5') }), 'DOWNLOAD_FAILED', 'run again to resume');
    const kept = statSync(partialPath(join(d, 'x.h5'))).size;
    assert.ok(kept > 0 && kept < small.length, `partial holds ${kept} bytes`);
    const r = await downloadFile({ url, dest: join(d, 'x.h5') });
    assert.equal(r.resumedFrom, kept);
    assert.equal(requests.at(-1)?.range, `bytes=${kept}-`);
    assert.ok(readFileSync(join(d, 'x.h5')).equals(small));
    assert.deepEqual(readdirSync(d), ['x.h5']);
  });

  test('a server that ignores Range restarts from zero and still gives the right file', async () => {
    const d = fresh('norange');
    const dest = join(d, 'x.h5');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(partialPath(dest), small.subarray(0, 5000));
    const r = await downloadFile({ url: `${base}/norange/x.h5`, dest });
    assert.equal(r.resumedFrom, 0);
    assert.ok(readFileSync(dest).equals(small));
  });

  test('a .partial that is already complete is finished without downloading again', async () => {
    const d = fresh('complete');
    const dest = join(d, 'x.h5');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(partialPath(dest), small);
    const r = await downloadFile({ url: `${base}/files/x.h5`, dest });
    assert.equal(r.size, small.length);
    assert.ok(readFileSync(dest).equals(small));
  });

  test('HTTP 404 is a clear error and leaves nothing', async () => {
    const d = fresh('404');
    await rejectsWith(
      downloadFile({ url: `${base}/nothing-here.h5`, dest: join(d, 'x.h5') }),
      'DOWNLOAD_FAILED',
      'HTTP 404',
      `${base}/nothing-here.h5`,
    );
    assert.deepEqual(readdirSync(d), []);
  });

  test('an HTML page instead of the file is recognised by its content type and by its content', async () => {
    const d = fresh('html');
    await rejectsWith(
      downloadFile({ url: `${base}/html`, dest: join(d, 'x.h5') }),
      'DOWNLOAD_FAILED',
      'web page',
      'text/html',
    );
    await rejectsWith(
      downloadFile({ url: `${base}/html-as-octet`, dest: join(d, 'x.h5') }),
      'DOWNLOAD_FAILED',
      'web page (HTML)',
    );
    assert.deepEqual(readdirSync(d), []);
  });

  test('a truncated file is caught by the size its HDF5 header declares', async () => {
    const d = fresh('cut');
    await rejectsWith(downloadFile({ url: `${base}/cut/x.h5`, dest: join(d, 'x.h5') }), 'DOWNLOAD_FAILED', 'truncated');
    assert.ok(!existsSync(join(d, 'x.h5')));
  });

  test('a size other than the expected one is refused before downloading', async () => {
    const d = fresh('size');
    await rejectsWith(
      downloadFile({ url: `${base}/files/x.h5`, dest: join(d, 'x.h5'), expectedSize: small.length + 1 }),
      'DOWNLOAD_FAILED',
      `${small.length + 1} were expected`,
    );
    assert.ok(!existsSync(join(d, 'x.h5')));
  });

  test('a full disk (a write failing with ENOSPC) is DISK_FULL and keeps the .partial for resuming', async () => {
    const d = fresh('enospc');
    let written = 0;
    const openWriter: OpenWriter = async (path, append) => {
      const { open } = await import('node:fs/promises');
      const fh = await open(path, append ? 'a' : 'w');
      return {
        async write(chunk) {
          if (written + chunk.byteLength > 300_000)
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          await fh.write(chunk);
          written += chunk.byteLength;
        },
        close: () => fh.close(),
      };
    };
    await rejectsWith(
      downloadFile({ url: `${base}/files/x.h5`, dest: join(d, 'x.h5'), openWriter }),
      'DISK_FULL',
      'disk is full',
      'resume',
    );
    assert.ok(statSync(partialPath(join(d, 'x.h5'))).size > 0);
    const r = await downloadFile({ url: `${base}/files/x.h5`, dest: join(d, 'x.h5') });
    assert.ok(r.resumedFrom > 0);
    assert.ok(readFileSync(join(d, 'x.h5')).equals(small));
  });

  const canMount = process.getuid?.() === 0 && spawnSync('mount', ['--version']).status === 0;
  test(
    'a really full file system (1 MiB tmpfs) is DISK_FULL',
    { skip: canMount ? false : 'needs root to mount a tmpfs' },
    async (t) => {
      const d = fresh('tmpfs');
      const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', d], { encoding: 'utf8' });
      if (m.status !== 0) return t.skip(`mount refused: ${m.stderr.trim()}`);
      try {
        assert.ok(small.length > 1 << 20, 'the fixture must not fit');
        await rejectsWith(
          downloadFile({ url: `${base}/files/x.h5`, dest: join(d, 'x.h5') }),
          'DISK_FULL',
          'disk is full',
        );
        assert.ok(!existsSync(join(d, 'x.h5')));
      } finally {
        spawnSync('umount', [d]);
      }
    },
  );

  test('cancelling mid-download leaves only a resumable .partial', async () => {
    const d = fresh('cancel');
    const dest = join(d, 'x.h5');
    const ac = new AbortController();
    await rejectsWith(
      downloadFile({
        url: `${base}/slow/x.h5`,
        dest,
        signal: ac.signal,
        onProgress: (p) => {
          if (p.received > 200_000) ac.abort();
        },
      }),
      'CANCELLED',
      '.partial',
    );
    assert.deepEqual(readdirSync(d), ['x.h5.partial']);
    const r = await downloadFile({ url: `${base}/files/x.h5`, dest });
    assert.ok(r.resumedFrom > 200_000);
    assert.ok(readFileSync(dest).equals(small));
  });

  test('install: downloads, converts, installs a model the engine lists, and removes the download', async () => {
    const modelsDir = fresh('install-ok');
    const stages = new Set<string>();
    const r = await installPublishedXumx({
      modelsDir,
      url: `${base}/files/full.h5`,
      onProgress: (p) => stages.add(p.stage),
    });
    assert.deepEqual([...stages], ['download', 'validate', 'read', 'build', 'write']);
    assert.equal(r.downloaded.bytes, full.length);
    assert.deepEqual(readdirSync(join(modelsDir, '.downloads')), []);
    const scan = await scanModels([modelsDir]);
    assert.deepEqual(scan.broken, []);
    assert.deepEqual(
      scan.models.map((m) => m.manifest.id),
      ['xumx-official'],
    );
    assert.deepEqual(scan.models[0].manifest.sources, ['bass', 'drums', 'vocals', 'other']);
  });

  test('install: a file with the wrong shapes is refused, removed, and nothing is installed', async () => {
    const modelsDir = fresh('install-shapes');
    await rejectsWith(
      installPublishedXumx({ modelsDir, url: `${base}/files/small.h5` }),
      'CONVERT_FAILED',
      'not the expected X-UMX network',
      'expected (2974, 512)',
    );
    assert.deepEqual(readdirSync(modelsDir), ['.downloads']);
    assert.deepEqual(readdirSync(join(modelsDir, '.downloads')), []);
  });

  test('CLI: models install prints JSON and models import installs from a local file', async () => {
    const modelsDir = fresh('cli');
    const io = collectIo();
    const code = await modelsInstallMain(
      ['models', 'install', 'xumx-official', '--url', `${base}/files/full.h5`, '--models-dir', modelsDir, '--json'],
      io,
    );
    assert.equal(code, 0, io.stderr + io.stdout);
    const doc = JSON.parse(io.stdout);
    assert.equal(doc.ok, true);
    assert.equal(doc.id, 'xumx-official');

    const io2 = collectIo();
    const code2 = await modelsInstallMain(
      ['models', 'import', join(dir, 'full.h5'), '--id', 'my-xumx', '--models-dir', modelsDir],
      io2,
    );
    assert.equal(code2, 0, io2.stderr);
    assert.match(io2.stdout, /installed model "my-xumx"/);
    assert.match(io2.stderr, /checking the parameters/);
    const m = JSON.parse(readFileSync(join(modelsDir, 'my-xumx', 'manifest.json'), 'utf8'));
    assert.match(m.license, /unknown/);
    assert.deepEqual(m.metrics, {});

    const io3 = collectIo();
    assert.equal(
      await modelsInstallMain(['models', 'import', join(dir, 'small.h5'), '--models-dir', modelsDir, '--json'], io3),
      1,
    );
    assert.equal(JSON.parse(io3.stdout).error.code, 'CONVERT_FAILED');
    const io4 = collectIo();
    assert.equal(await modelsInstallMain(['models', 'install', 'umx-hq', '--models-dir', modelsDir], io4), 2);
    assert.match(io4.stderr, /unknown model "umx-hq"/);
  });
});
