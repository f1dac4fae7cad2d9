import { describe, test, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { basename, join } from 'node:path';
import { WebSocket } from 'ws';
import type { StudioService } from '../api/service.ts';
import type { FakeEngine } from '../api/testing/fakes.ts';
import { fakeStudio, type FakeStudio } from '../api/testing/studio.ts';
import AdmZip from 'adm-zip';
import type { ModelsView } from '../api/contract.ts';
import { writeModelFolder } from '../engine/model/testing/model-folder.ts';
import { MAX_ERROR } from '../engine/separate/listen-codec.ts';
import { XumxError } from '../engine/errors.ts';
import { onSmallDisk } from '../../test/fixtures/small-disk.ts';
import { onReadOnlyDisk } from '../../test/fixtures/read-only-disk.ts';
import { parseRange } from './http-util.ts';
import { startWebServer, type WebServer } from './server.ts';

/** A request sent as written: fetch would tidy up the odd paths and headers these tests need. */
function rawRequest(
  port: number,
  opts: { method?: string; path: string; headers?: Record<string, string>; body?: string },
) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; body: string }>((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path, headers: opts.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', fail);
    req.end(opts.body);
  });
}

/** Opens the event socket by hand, sends one frame as given and waits until the server closes the connection. */
async function sendRawFrame(port: number, token: string, frame: Buffer): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  let text = '';
  const closed = new Promise<void>((ok) => socket.once('close', () => ok()));
  socket.on('error', () => undefined);
  const upgraded = new Promise<void>((ok) =>
    socket.on('data', (d) => {
      text += d.toString('latin1');
      if (text.includes('\r\n\r\n')) ok();
    }),
  );
  socket.write(
    `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nx-xumx-token: ${token}\r\n\r\n`,
  );
  await upgraded;
  assert.match(text, /^HTTP\/1\.1 101/);
  socket.write(frame);
  await closed;
  return text;
}

/** Waits (a bounded number of turns) for something the server does after the client has gone. */
async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  for (let turn = 0; turn < 300; turn++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`never happened: ${what}`);
}

describe('browser-mode server', () => {
  let dir: string;
  let server: WebServer;
  let service: StudioService;
  let stemOnDisk: string;
  let jobIdValue = '';
  let engine: FakeEngine;

  before(async () => {
    ({ dir, service, engine } = await pageStudio(
      'xumx-web-',
      { deps: (d) => ({ listenDir: join(d, 'listening') }) },
      '<!doctype html><title>X-UMX Studio</title>',
    ));
    await writeFile(join(dir, 'secret.txt'), 'not for the browser');
    server = await startWebServer({ service, rendererDir: join(dir, 'renderer'), uploadDir: join(dir, 'uploads') });
    // A real file behind a finished job (the fake engine keeps stems in memory), so ranges read real bytes.
    const [job] = await service.open(['/songs/a.wav']);
    await service.idle();
    stemOnDisk = join(dir, 'vocals.bin');
    await writeFile(stemOnDisk, Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256)));
    const view = (await service.listJobs())[0];
    view.result!.stemPaths.vocals = stemOnDisk;
    service.policy.allowWritten(stemOnDisk);
    jobIdValue = job.id;
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const base = () => `http://127.0.0.1:${server.port}`;
  const auth = () => ({ 'x-xumx-token': server.token });
  /** POST /api/call/<method> with the session's token, `body` sent as `contentType`. */
  const callApi = (method: string, body = '[]', contentType = 'application/json') =>
    fetch(`${base()}/api/call/${method}`, {
      method: 'POST',
      headers: { 'content-type': contentType, ...auth() },
      body,
    });
  const jobId = () => jobIdValue;

  test('prints a 127.0.0.1 link that carries the token', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{32}$/);
  });

  test('refuses every request without the token', async () => {
    for (const p of ['/', '/index.html', `/api/stems/${jobId()}/vocals`]) {
      assert.equal((await fetch(base() + p)).status, 401, p);
    }
    const r = await fetch(`${base()}/api/call/getSettings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-xumx-token': 'wrong' },
      body: '[]',
    });
    assert.equal(r.status, 401);
  });

  test('swaps the token in the link for a same-site cookie', async () => {
    const r = await fetch(server.url, { redirect: 'manual' });
    assert.equal(r.status, 303);
    const cookie = r.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const page = await fetch(`${base()}/`, { headers: { cookie: cookie.split(';')[0] } });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
    assert.match(await page.text(), /X-UMX Studio/);
  });

  test('refuses a foreign Host header (DNS rebinding) even with the token', async () => {
    const status = await new Promise<number>((ok, fail) => {
      const req = request(
        { host: '127.0.0.1', port: server.port, path: '/', headers: { host: 'evil.example:80', ...auth() } },
        (res) => ok(res.statusCode ?? 0),
      );
      req.on('error', fail);
      req.end();
    });
    assert.equal(status, 403);
  });

  test('refuses a cross-site Origin', async () => {
    const r = await fetch(`${base()}/api/call/listJobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'http://evil.example', ...auth() },
      body: '[]',
    });
    assert.equal(r.status, 403);
  });

  test('answers calls with values and bad calls with error values', async () => {
    const ok = await callApi('getSettings');
    assert.equal(ok.status, 200);
    assert.equal(((await ok.json()) as { value: { ep: string } }).value.ep, 'auto');
    const bad = await callApi('updateSettings', '[{"ep":"tpu"}]');
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'BAD_ARGUMENT');
    const form = await callApi('listJobs', '[]', 'text/plain');
    assert.equal(form.status, 415);
  });

  test('streams a stem with byte ranges', async () => {
    const full = await fetch(`${base()}/api/stems/${jobId()}/vocals`, { headers: auth() });
    assert.equal(full.status, 200);
    assert.equal((await full.arrayBuffer()).byteLength, 1000);
    const part = await fetch(`${base()}/api/stems/${jobId()}/vocals`, { headers: { ...auth(), range: 'bytes=10-19' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 10-19/1000');
    assert.deepEqual([...new Uint8Array(await part.arrayBuffer())], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    const beyond = await fetch(`${base()}/api/stems/${jobId()}/vocals`, {
      headers: { ...auth(), range: 'bytes=5000-' },
    });
    assert.equal(beyond.status, 416);
  });

  test("serves a preview's stems from memory as WAV behind the same checks as stems, and 404 for one not kept", async () => {
    const call = await callApi(
      'previewRegion',
      JSON.stringify([jobId(), { controls: { strength: { vocals: 2 } }, presetId: null }, 0, 0.01]),
    );
    assert.equal(call.status, 200);
    const preview = ((await call.json()) as { value: { id: string; sources: string[] } }).value;
    assert.deepEqual(preview.sources, ['vocals', 'drums', 'bass', 'other']);
    const url = `${base()}/api/previews/${jobId()}/${preview.id}/vocals`;
    assert.equal((await fetch(url)).status, 401, 'no token');
    const elsewhere = await rawRequest(server.port, {
      path: new URL(url).pathname,
      headers: { host: 'evil.example', ...auth() },
    });
    assert.equal(elsewhere.status, 403, 'another host');
    const r = await fetch(url, { headers: auth() });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'audio/wav');
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const bytes = Buffer.from(await r.arrayBuffer());
    assert.ok(bytes.equals(service.previewFile(jobId(), preview.id, 'vocals')!), 'the bytes of the preview, unchanged');
    assert.equal(bytes.subarray(0, 4).toString('latin1'), 'RIFF');
    const all = await fetch(`${base()}/api/previews/${jobId()}/${preview.id}`, { headers: auth() });
    assert.equal(all.status, 200);
    assert.ok(
      Buffer.from(await all.arrayBuffer()).equals(service.previewFile(jobId(), preview.id, null)!),
      'all stems in one WAV',
    );
    assert.equal((await fetch(`${base()}/api/previews/${jobId()}/${preview.id}`)).status, 401, 'all stems: no token');
    for (const p of [
      `/api/previews/${jobId()}/unknown-id/vocals`,
      `/api/previews/${jobId()}/${preview.id}/piano`,
      `/api/previews/nojob/${preview.id}/vocals`,
      `/api/previews/${jobId()}/unknown-id`,
    ]) {
      assert.equal((await fetch(base() + p, { headers: auth() })).status, 404, p);
    }
  });

  test("serves blocks of a render's listening copy as 32-bit float WAV, and says why it cannot (400, 404, 409)", async () => {
    let open!: () => void;
    engine.gate = new Promise((r) => {
      open = r;
    });
    const [running] = await service.open(['/songs/listen.wav']);
    await eventually(
      'half the song is final',
      async () => (await service.listJobs()).find((j) => j.id === running.id)?.listen?.readyFrames === 500,
    );
    const url = (rev: string | number, query: string) => `${base()}/api/listen/${running.id}/${rev}?${query}`;
    assert.equal((await fetch(url(0, 'from=0&frames=10'))).status, 401, 'no token');
    const r = await fetch(url(0, 'from=100&frames=1000'), { headers: auth() });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'audio/wav');
    assert.equal(r.headers.get('cache-control'), 'no-store');
    const wav = Buffer.from(await r.arrayBuffer());
    assert.equal(wav.subarray(0, 4).toString('latin1'), 'RIFF');
    assert.equal(wav.readUInt16LE(20), 3, 'float samples');
    assert.equal(wav.readUInt16LE(22), 8, 'two channels per stem');
    assert.equal(wav.readUInt32LE(24), 44100);
    assert.equal(wav.readUInt32LE(40), 400 * 8 * 4, 'frames 100 to 500: the final ones');
    assert.equal(wav.readFloatLE(44), Math.fround(0.1), 'the first stem, left');
    assert.ok(
      Math.abs(wav.readFloatLE(48) - 100 / 1e6) <= MAX_ERROR,
      'the first stem, right: frame 100, as closely as the copy keeps it',
    );
    const head = await fetch(url(0, 'from=100&frames=1000'), { method: 'HEAD', headers: auth() });
    assert.equal(head.status, 200, 'HEAD');
    assert.equal(head.headers.get('content-length'), String(wav.length), "HEAD: the GET's length");
    assert.equal(head.headers.get('content-type'), 'audio/wav');
    const notYet = await fetch(url(0, 'from=500&frames=10'), { headers: auth() });
    assert.equal(notYet.status, 409);
    assert.match(await notYet.text(), /not rendered yet/);
    for (const query of ['from=-1&frames=10', 'from=0&frames=0', 'from=x&frames=10', 'frames=10', 'from=0']) {
      const bad = await fetch(url(0, query), { headers: auth() });
      assert.equal(bad.status, 400, query);
      assert.ok((await bad.text()).length > 0, `${query}: says why`);
    }
    assert.equal((await fetch(url('zero', 'from=0&frames=10'), { headers: auth() })).status, 400);
    const gone = await fetch(url(3, 'from=0&frames=10'), { headers: auth() });
    assert.equal(gone.status, 404);
    assert.match(await gone.text(), /not kept/);
    assert.equal((await fetch(`${base()}/api/listen/nojob/0?from=0&frames=10`, { headers: auth() })).status, 400);
    open();
    await service.idle();
    const whole = await fetch(url(0, 'from=500&frames=500'), { headers: auth() });
    assert.equal(whole.status, 200, 'the rest once it is final');
    await service.remove(running.id);
  });

  test("answers the listening route's refusals in the API's error form, as it answers malformed percent-encoding", async () => {
    const url = (path: string) => `${base()}/api/listen/${path}`;
    const cases: { path: string; status: number; code: string; message: RegExp }[] = [
      { path: `%ZZ/0?from=0&frames=10`, status: 400, code: 'BAD_ARGUMENT', message: /the job id is not valid/ },
      { path: `${jobId()}/%ZZ?from=0&frames=10`, status: 400, code: 'BAD_ARGUMENT', message: /the revision is not/ },
      { path: `${jobId()}/zero?from=0&frames=10`, status: 400, code: 'BAD_ARGUMENT', message: /a revision is/ },
      { path: `${jobId()}/0?from=0&frames=0`, status: 400, code: 'BAD_ARGUMENT', message: /"frames" is a whole/ },
      { path: `${jobId()}/7?from=0&frames=10`, status: 404, code: 'FILE_NOT_FOUND', message: /render 7 is not kept/ },
      // An unknown song as every call about a job answers it, and as /api/stems does.
      { path: `nojob/0?from=0&frames=10`, status: 400, code: 'BAD_ARGUMENT', message: /no song with id nojob/ },
    ];
    for (const c of cases) {
      const r = await fetch(url(c.path), { headers: auth() });
      assert.equal(r.status, c.status, c.path);
      assert.equal(r.headers.get('content-type'), 'application/json', c.path);
      const body = (await r.json()) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(body.ok, false, c.path);
      assert.equal(body.error.code, c.code, c.path);
      assert.match(body.error.message, c.message, c.path);
    }
  });

  test("answers a stem file's fault on the listening route with its own status, not as the server's (500)", async () => {
    const url = `${base()}/api/listen/${jobId()}/0?from=0&frames=10`;
    for (const [code, status] of [
      ['TRUNCATED', 422],
      ['FILE_UNREADABLE', 403],
      ['FILE_NOT_FOUND', 404],
      ['DISK_FULL', 507],
      ['INTERNAL', 500],
    ] as const) {
      const message = `song.wav: the song's audio cannot be made again from its stem files (${code})`;
      const listen = mock.method(service, 'listen', async () => ({ kind: 'failed' as const, code, message }));
      const head = mock.method(service, 'listenHead', async () => ({ kind: 'failed' as const, code, message }));
      try {
        const r = await fetch(url, { headers: auth() });
        assert.equal(r.status, status, code);
        assert.deepEqual(await r.json(), { ok: false, error: { code, message } });
        assert.equal((await fetch(url, { method: 'HEAD', headers: auth() })).status, status, `HEAD: ${code}`);
      } finally {
        listen.mock.restore();
        head.mock.restore();
      }
    }
  });

  test('answers every failed request with the status of its error code, calls and stem files included', async () => {
    const stemFile = mock.method(service, 'stemFile', () => {
      throw new XumxError('TRUNCATED', '/songs/a.wav: the file ends early');
    });
    try {
      const r = await fetch(`${base()}/api/stems/${jobId()}/vocals`, { headers: auth() });
      assert.equal(r.status, 422);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'TRUNCATED');
    } finally {
      stemFile.mock.restore();
    }
    const listJobs = mock.method(service, 'listJobs', async () => {
      throw new XumxError('DISK_FULL', `${dir}: no space left on the disk`);
    });
    try {
      const call = await callApi('listJobs');
      assert.equal(call.status, 507);
      assert.equal(((await call.json()) as { error: { code: string } }).error.code, 'DISK_FULL');
    } finally {
      listJobs.mock.restore();
    }
  });

  test('serves no file outside the renderer folder', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt']) {
      const r = await fetch(base() + p, { headers: auth() });
      assert.notEqual(r.status, 200, p);
    }
    const r = await fetch(`${base()}/api/stems/${jobId()}/piano`, { headers: auth() });
    assert.equal(r.status, 400, 'an unknown stem is a bad argument');
  });

  test('takes an upload as a chosen song and pushes its progress over the event socket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: auth() });
    const events: { type: string; job?: { state: string; name: string } }[] = [];
    ws.on('message', (m) => events.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once('open', r));
    const r = await fetch(`${base()}/api/upload?name=song.wav`, {
      method: 'POST',
      headers: auth(),
      body: Buffer.from('RIFF'),
    });
    const body = (await r.json()) as { ok: boolean; value: { name: string }[] };
    assert.equal(body.ok, true);
    assert.equal(body.value[0].name, 'song.wav');
    await service.idle();
    await new Promise((r) => setTimeout(r, 50));
    ws.close();
    assert.deepEqual(
      events
        .filter((e) => e.job?.name === 'song.wav')
        .map((e) => e.job!.state)
        .filter((s, i, a) => a[i - 1] !== s),
      ['queued', 'running', 'done'],
    );
  });

  test('deletes an uploaded copy when its song leaves the queue', async () => {
    const r = await fetch(`${base()}/api/upload?name=temp.wav`, {
      method: 'POST',
      headers: auth(),
      body: Buffer.from('RIFF'),
    });
    const [job] = ((await r.json()) as { value: { id: string; input: string }[] }).value;
    await service.idle();
    assert.equal(existsSync(job.input), true);
    await service.remove(job.id);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(job.input), false);
  });

  test('refuses an upload whose name cannot be kept, naming the file and what to do', async () => {
    const long = `${'a'.repeat(250)} \\ 🎵.wav`;
    // 134 characters, 264 bytes of UTF-8: file names are limited in bytes.
    const accented = `${'é'.repeat(130)}.wav`;
    for (const [name, message] of [
      ['', 'an upload needs the file name of the song'],
      ['.hidden.wav', '.hidden.wav: a file name starting with "." cannot be uploaded; rename the file'],
      [long, `${long}: the file name is longer than 255 bytes; rename the file`],
      [accented, `${accented}: the file name is longer than 255 bytes; rename the file`],
    ]) {
      const r = await fetch(`${base()}/api/upload?name=${encodeURIComponent(name)}`, {
        method: 'POST',
        headers: auth(),
        body: Buffer.from('RIFF'),
      });
      assert.equal(r.status, 400, name);
      assert.deepEqual(((await r.json()) as { error: unknown }).error, { code: 'BAD_ARGUMENT', message });
    }
  });

  test('keeps an upload whose name is longer than 200 characters but within 255 bytes', async () => {
    const name = `${'b'.repeat(247)}.wav`;
    const r = await fetch(`${base()}/api/upload?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: auth(),
      body: Buffer.from('RIFF'),
    });
    const outcome = (await r.json()) as { ok: boolean; value: { input: string }[] };
    assert.equal(outcome.ok, true, JSON.stringify(outcome));
    assert.equal(basename(outcome.value[0].input), name);
  });

  const uploadSong = async (name: string, body: Buffer) => {
    const r = await fetch(`${base()}/api/upload?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: auth(),
      body,
    });
    const outcome = (await r.json()) as { ok: boolean; value: { id: string; input: string }[] };
    assert.equal(outcome.ok, true);
    return outcome.value[0];
  };

  test('keeps the same song uploaded twice at one path, so it reaches its own stem folder again', async () => {
    const first = await uploadSong('again.wav', Buffer.from('RIFF same bytes'));
    const second = await uploadSong('again.wav', Buffer.from('RIFF same bytes'));
    const other = await uploadSong('again.wav', Buffer.from('RIFF other bytes'));
    await service.idle();
    assert.equal(second.input, first.input, 'the same bytes under the same name');
    assert.notEqual(other.input, first.input, 'different bytes under the same name');
    assert.equal(other.input.endsWith('again.wav'), true);
    for (const job of [first, second, other]) await service.remove(job.id);
  });

  test('deletes a shared upload only when the last song using it leaves the queue', async () => {
    const first = await uploadSong('shared.wav', Buffer.from('RIFF shared'));
    const second = await uploadSong('shared.wav', Buffer.from('RIFF shared'));
    await service.idle();
    await service.remove(first.id);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(existsSync(second.input), true, 'still used by the second song');
    await service.remove(second.id);
    await eventually('the upload is deleted', () => !existsSync(second.input));
  });

  test('answers malformed percent-encoding with 400 naming what is wrong', async () => {
    const cases: { what: string; path: string; method?: string; headers?: Record<string, string> }[] = [
      { what: 'cookie', path: '/', headers: { cookie: 'xumx_token=%E0%A4%A' } },
      { what: 'path', path: '/assets/%E0%A4%A.js' },
      {
        what: 'call name',
        path: '/api/call/get%E0%A4%ASettings',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
      },
      { what: 'job id', path: `/api/stems/%E0%A4%A/vocals` },
      { what: 'stem', path: `/api/stems/${jobId()}/voc%E0%A4als` },
      { what: 'preview id', path: `/api/previews/${jobId()}/%E0%A4%A/vocals` },
      { what: 'preview stem', path: `/api/previews/${jobId()}/abc/voc%E0%A4als` },
      { what: 'address', path: '//[' },
    ];
    for (const c of cases) {
      const r = await rawRequest(server.port, {
        method: c.method,
        path: c.path,
        headers: { host: `127.0.0.1:${server.port}`, ...auth(), ...c.headers },
        body: c.method === 'POST' ? '[]' : undefined,
      });
      assert.equal(r.status, 400, `${c.what}: ${r.body}`);
      const body = JSON.parse(r.body) as { ok: boolean; error: { code: string; message: string } };
      assert.equal(body.error.code, 'BAD_ARGUMENT', c.what);
      assert.match(body.error.message, /percent-encoding|not a valid address/, c.what);
    }
  });

  test('tells browsers not to guess the type of JSON and error answers', async () => {
    const json = await callApi('getSettings');
    const denied = await fetch(`${base()}/`);
    const missing = await fetch(`${base()}/api/nothing`, { headers: auth() });
    for (const r of [json, denied, missing])
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', `${r.status}`);
  });

  test('refuses an event socket without the token', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`);
    const err = await new Promise<Error>((r) => ws.once('error', r));
    assert.match(err.message, /401/);
  });
});

describe('browser-mode server in a process of its own', () => {
  let child: ChildProcess;
  let exited: Promise<unknown>;
  let port = 0;
  let token = '';

  before(async () => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(new URL('./testing/fake-server.ts', import.meta.url))],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    exited = once(child, 'exit');
    const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
    ({ port, token } = JSON.parse(line) as { port: number; token: string });
  });

  after(async () => {
    child.kill();
    await exited;
  });

  const stillServing = async (after: string) => {
    const r = await fetch(`http://127.0.0.1:${port}/api/call/getSettings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-xumx-token': token },
      body: '[]',
    }).catch((e: Error) => assert.fail(`the server is gone after ${after}: ${e.message}`));
    assert.equal(r.status, 200, `after ${after}`);
  };

  test('closes only the socket that breaks the WebSocket protocol and goes on serving', async () => {
    const noMask = Buffer.alloc(4);
    const frames = {
      'an unmasked frame': Buffer.from([0x81, 0x02, 0x68, 0x69]),
      'an unknown opcode': Buffer.from([0x83, 0x80, ...noMask]),
      'text that is not UTF-8': Buffer.from([0x81, 0x82, ...noMask, 0xff, 0xfe]),
      'a message over the size limit': Buffer.from([0x82, 0xfe, 0x13, 0x88, ...noMask]),
    };
    const listener = new WebSocket(`ws://127.0.0.1:${port}/api/events`, { headers: { 'x-xumx-token': token } });
    await new Promise((r) => listener.once('open', r));
    for (const [what, frame] of Object.entries(frames)) {
      await sendRawFrame(port, token, frame);
      await stillServing(what);
    }
    assert.equal(listener.readyState, WebSocket.OPEN, 'a well-behaved socket stays open');
    listener.close();
  });

  test('refuses an event socket whose cookie is malformed percent-encoding and goes on serving', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/events`, { headers: { cookie: 'xumx_token=%E0%A4%A' } });
    const err = await new Promise<Error>((r) => ws.once('error', r));
    assert.match(err.message, /400/);
    await stillServing('a malformed cookie');
  });

  test('refuses an event socket at an address that does not parse and goes on serving', async () => {
    const status = await new Promise<number>((ok, fail) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '//[',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': randomBytes(16).toString('base64'),
          'sec-websocket-version': '13',
          'x-xumx-token': token,
        },
      });
      req.on('response', (res) => ok(res.statusCode ?? 0));
      req.on('upgrade', () => fail(new Error('upgraded')));
      req.on('error', fail);
      req.end();
    });
    assert.equal(status, 400);
    await stillServing('an address that does not parse');
  });

  test('goes on serving when browsers reset event-socket requests before they are answered', async () => {
    for (let i = 0; i < 30; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      const cookie = i % 2 ? 'xumx_token=%E0' : 'xumx_token=wrong';
      socket.write(
        `GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nCookie: ${cookie}\r\n\r\n`,
      );
      // Varying the moment of the reset catches the server at different points of its answer.
      await new Promise((r) => setTimeout(r, i % 3));
      socket.resetAndDestroy();
    }
    await stillServing('requests reset mid-answer');
  });
});

describe('browser-mode uploads', () => {
  const LIMIT = 1000;
  let dir: string;
  let server: WebServer;
  let service: StudioService;

  before(async () => {
    ({ dir, service } = await pageStudio('xumx-upload-'));
    server = await startWebServer({
      service,
      rendererDir: join(dir, 'renderer'),
      uploadDir: join(dir, 'uploads'),
      maxUploadBytes: LIMIT,
    });
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const uploads = () => readdir(join(dir, 'uploads')).catch(() => [] as string[]);
  const post = (headers: Record<string, string | number> = {}) =>
    request({
      host: '127.0.0.1',
      port: server.port,
      method: 'POST',
      path: '/api/upload?name=big.wav',
      headers: { 'x-xumx-token': server.token, ...headers },
    });

  test('refuses a chunked upload past the size limit with 413 FILE_TOO_LARGE and keeps no part of it', async () => {
    const req = post();
    const answer = new Promise<{ status: number; body: string }>((ok, fail) => {
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', fail);
    });
    assert.equal(req.getHeader('content-length'), undefined);
    req.write(Buffer.alloc(LIMIT / 2 + 100));
    req.write(Buffer.alloc(LIMIT / 2 + 100));
    req.end();
    const { status, body } = await answer;
    assert.equal(status, 413, body);
    const { error } = JSON.parse(body) as { error: { code: string; message: string } };
    assert.equal(error.code, 'FILE_TOO_LARGE');
    assert.match(error.message, /big\.wav/);
    await eventually('the partial upload is removed', async () => (await uploads()).length === 0);
    assert.deepEqual(await service.listJobs(), []);
  });

  test('removes the partial file of an upload the browser abandons', async () => {
    const req = post({ 'content-length': LIMIT - 100 });
    req.on('error', () => undefined);
    req.write(Buffer.alloc(100));
    await eventually('the upload starts arriving', async () => (await uploads()).length === 1);
    req.destroy();
    await eventually('the partial upload is removed', async () => (await uploads()).length === 0);
    assert.deepEqual(await service.listJobs(), []);
  });
});

/** A service over the fake engine (testing/studio.ts) whose folder holds `page` as the stand-in page in `renderer/`. */
async function pageStudio(
  prefix: string,
  o: Parameters<typeof fakeStudio>[1] = {},
  page = '<!doctype html>',
): Promise<FakeStudio> {
  const studio = await fakeStudio(prefix, o);
  await mkdir(join(studio.dir, 'renderer'));
  await writeFile(join(studio.dir, 'renderer', 'index.html'), page);
  return studio;
}

/**
 * One upload of `body` as song.wav to a server whose upload folder is `disk/uploads`, while `onDisk` holds `disk` as
 * it makes it (a full or a read-only file system); `check` gets the answer's error, the folder and the service.
 */
async function uploadOnDisk(
  prefix: string,
  body: Buffer,
  onDisk: (disk: string, run: () => Promise<void>) => Promise<void>,
  check: (error: { code: string; message: string }, uploadDir: string, service: StudioService) => Promise<void>,
): Promise<void> {
  const { dir, service } = await pageStudio(prefix);
  const disk = join(dir, 'disk');
  await mkdir(disk);
  const uploadDir = join(disk, 'uploads');
  await onDisk(disk, async () => {
    const server = await startWebServer({ service, rendererDir: join(dir, 'renderer'), uploadDir });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/upload?name=song.wav`, {
        method: 'POST',
        headers: { 'x-xumx-token': server.token },
        body,
      });
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      await check(error, uploadDir, service);
    } finally {
      await server.close();
    }
  });
  await rm(dir, { recursive: true, force: true });
}

describe('browser-mode uploads to a folder that cannot take them', () => {
  test('names the song and the upload folder when the disk is full, and keeps no part of it', async (t) => {
    await uploadOnDisk(
      'xumx-upload-full-',
      Buffer.alloc(256 * 1024),
      (disk, run) => onSmallDisk(t, disk, '16k', run),
      async (error, uploadDir, service) => {
        assert.equal(error.code, 'DISK_FULL');
        assert.equal(error.message, `song.wav: cannot be kept in ${uploadDir} (the disk is full)`);
        assert.deepEqual(await readdir(uploadDir), []);
        assert.deepEqual(await service.listJobs(), []);
      },
    );
  });
});

describe('browser-mode uploads to a read-only data folder', () => {
  test('names the song, the upload folder and the read-only file system, and queues nothing', async (t) => {
    await uploadOnDisk(
      'xumx-upload-ro-',
      Buffer.from('RIFF'),
      (disk, run) => onReadOnlyDisk(t, disk, async () => {}, run),
      async (error, uploadDir, service) => {
        assert.equal(error.code, 'OUTPUT_NOT_WRITABLE');
        assert.equal(error.message, `song.wav: cannot be kept in ${uploadDir} (the file system is read-only)`);
        assert.deepEqual(await service.listJobs(), []);
      },
    );
  });
});

describe('browser-mode uploads when the recent files cannot be saved', () => {
  test('queues the uploaded song, keeps its copy while it is queued and tells the page why it is not a recent file', async () => {
    const { dir, service } = await pageStudio('xumx-upload-recent-');
    // A folder where the settings file belongs: saving the recent files fails as on a full or read-only data folder.
    await mkdir(join(dir, 'settings.json'));
    const server = await startWebServer({
      service,
      rendererDir: join(dir, 'renderer'),
      uploadDir: join(dir, 'uploads'),
    });
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api/events`, { headers: { 'x-xumx-token': server.token } });
    const notices: string[] = [];
    ws.on('message', (m) => {
      const e = JSON.parse(String(m)) as { type: string; message?: string };
      if (e.type === 'notice') notices.push(e.message!);
    });
    await once(ws, 'open');
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/api/upload?name=song.wav`, {
        method: 'POST',
        headers: { 'x-xumx-token': server.token },
        body: Buffer.from('RIFF song'),
      });
      const outcome = (await res.json()) as { ok: boolean; value: { id: string; input: string }[] };
      assert.equal(outcome.ok, true, JSON.stringify(outcome));
      const [job] = outcome.value;
      await service.idle();
      assert.equal((await service.listJobs())[0]?.state, 'done');
      assert.equal(existsSync(job.input), true, 'the queued song keeps its upload');
      await eventually('the notice reaches the page', () => notices.length === 1);
      assert.match(
        notices[0],
        /settings\.json: could not be saved .*song\.wav opened, but not added to the recent files/,
      );
      await service.remove(job.id);
      await eventually('the upload goes with its song', () => !existsSync(job.input));
    } finally {
      ws.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('browser-mode model uploads', () => {
  const LIMIT = 64 * 1024;
  let dir: string;
  let server: WebServer;

  before(async () => {
    const studio = await pageStudio('xumx-model-upload-', {
      deps: (d) => ({ models: { userDir: join(d, 'models'), modelDirs: [join(d, 'models')] } }),
    });
    dir = studio.dir;
    const { service } = studio;
    server = await startWebServer({
      service,
      rendererDir: join(dir, 'renderer'),
      uploadDir: join(dir, 'uploads'),
      maxUploadBytes: LIMIT,
    });
  });

  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  const uploadModel = async (name: string, body: Buffer) => {
    const r = await fetch(`http://127.0.0.1:${server.port}/api/upload-model?name=${encodeURIComponent(name)}`, {
      method: 'POST',
      headers: { 'x-xumx-token': server.token },
      body,
    });
    return {
      status: r.status,
      body: (await r.json()) as
        { ok: true; value: ModelsView } | { ok: false; error: { code: string; message: string } },
    };
  };
  const uploads = () => readdir(join(dir, 'uploads')).catch(() => [] as string[]);

  test('imports an uploaded model .zip, lists it as imported and keeps no copy of the upload', async () => {
    const src = await writeModelFolder(join(dir, 'src', 'uploaded'), { id: 'uploaded' });
    const zip = new AdmZip();
    zip.addLocalFolder(src.dir, 'uploaded');
    const r = await uploadModel('uploaded.zip', zip.toBuffer());
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(r.body.ok);
    assert.equal(r.body.value.models.find((m) => m.id === 'uploaded')?.origin, 'imported');
    assert.deepEqual(await readdir(join(dir, 'models')), ['uploaded']);
    assert.deepEqual(await uploads(), []);
  });

  test('refuses an uploaded file that is no model, naming it as the user sent it, and keeps no copy', async () => {
    const r = await uploadModel('notes.h5', Buffer.from('just some text, not weights'));
    assert.equal(r.status, 400);
    assert.ok(!r.body.ok);
    assert.equal(r.body.error.code, 'BAD_ARGUMENT');
    assert.match(r.body.error.message, /^notes\.h5: not a model/);
    assert.doesNotMatch(r.body.error.message, /uploads/);
    assert.deepEqual(await uploads(), []);
  });

  test('keeps the upload size cap for model files', async () => {
    const r = await uploadModel('big.h5', Buffer.alloc(LIMIT + 1));
    assert.equal(r.status, 413);
    assert.ok(!r.body.ok);
    assert.equal(r.body.error.code, 'FILE_TOO_LARGE');
    assert.deepEqual(await uploads(), []);
  });
});

describe('parseRange', () => {
  test('reads start-end, open-ended and suffix ranges', () => {
    assert.deepEqual(parseRange('bytes=0-99', 1000), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=900-', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=-100', 1000), { start: 900, end: 999 });
    assert.deepEqual(parseRange('bytes=0-5000', 1000), { start: 0, end: 999 });
  });

  test('sends the whole file without a range and rejects impossible ones', () => {
    assert.equal(parseRange(undefined, 10), null);
    assert.equal(parseRange('bytes=20-30', 10), 'invalid');
    assert.equal(parseRange('bytes=5-2', 10), 'invalid');
    assert.equal(parseRange('items=0-1', 10), 'invalid');
  });
});
