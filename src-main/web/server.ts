// Browser mode: the same renderer and the same StudioService as the desktop app, served on 127.0.0.1 over HTTP
// (calls, song and model uploads, stem audio with ranges, previews' audio from memory, blocks of renders' listening
// copies) and a WebSocket (events). Every request must carry the
// per-run token: the printed link sets it as a same-site cookie, API clients may send it as a header.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { basename, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { asXumxError, FILE_NAME_MAX_BYTES, fitUtf8, makeFolders, XumxError } from '../engine/index.ts';
import type { JobView, StudioEvent } from '../api/contract.ts';
import { dispatchCall } from '../api/dispatch.ts';
import type { StudioService } from '../api/service.ts';
import { decodePart } from '../api/validate.ts';
import { UploadStore } from './upload-store.ts';
import { listenRefusalBody } from '../api/listen-copies.ts';
import {
  CONTENT_SECURITY_POLICY,
  cookieValue,
  readBody,
  sameToken,
  sendBytes,
  sendFile,
  sendError,
  sendJson,
  sendText,
} from './http-util.ts';

export interface WebServerOptions {
  service: StudioService;
  /** Built renderer (vite output). */
  rendererDir: string;
  /** Where uploaded songs are kept; they count as files the user chose. Emptied at start by createStudio. */
  uploadDir: string;
  /** 0 picks a free port. */
  port?: number;
  token?: string;
  /** Largest upload accepted, in bytes; default MAX_UPLOAD. */
  maxUploadBytes?: number;
}

export interface WebServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const COOKIE = 'xumx_token';
const MAX_CALL_BODY = 1 << 20;
/** The largest WAV a 32-bit RIFF header can describe; compressed songs hit the decoder's own, lower limits first. */
const MAX_UPLOAD = 4 * 1024 ** 3;

function formatBytes(n: number): string {
  return n >= 1024 ** 3
    ? `${+(n / 1024 ** 3).toFixed(1)} GiB`
    : n >= 1024 ** 2
      ? `${+(n / 1024 ** 2).toFixed(1)} MiB`
      : `${n} bytes`;
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const uploads = new UploadStore();
  const uploadsByJob = new Map<string, string>();
  const rendererDir = resolve(opts.rendererDir);
  let port = opts.port ?? 0;

  const server = createServer((req, res) => {
    handle(req, res).catch((e) => {
      const err = asXumxError(e);
      if (!res.headersSent) sendError(res, { code: err.code, message: err.message });
      else res.destroy();
    });
  });

  // Only our own origin: a page on another site (or a DNS-rebound name) must not reach the API.
  const hostAllowed = (req: IncomingMessage) =>
    req.headers.host === `127.0.0.1:${port}` || req.headers.host === `localhost:${port}`;
  const originAllowed = (req: IncomingMessage) => {
    const o = req.headers.origin;
    return o === undefined || o === `http://127.0.0.1:${port}` || o === `http://localhost:${port}`;
  };
  const authorised = (req: IncomingMessage, url: URL) =>
    sameToken(cookieValue(req, COOKIE), token) ||
    sameToken(req.headers['x-xumx-token'] as string | undefined, token) ||
    sameToken(url.searchParams.get('token'), token);

  /** The request's address; one that does not parse is the sender's mistake (400). */
  const requestUrl = (req: IncomingMessage) => {
    try {
      return new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    } catch {
      throw new XumxError('BAD_ARGUMENT', 'the request is not a valid address');
    }
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    if (!hostAllowed(req) || !originAllowed(req)) return sendText(res, 403, 'Forbidden: wrong host or origin.');
    if (!authorised(req, url)) {
      return sendText(res, 401, 'X-UMX Studio: open the link with the token that was printed when the server started.');
    }
    if (url.searchParams.has('token') && req.method === 'GET' && !url.pathname.startsWith('/api/')) {
      // Swap the token in the address bar for a cookie, so it does not linger in history or get copied around.
      res.writeHead(303, {
        Location: url.pathname,
        'Set-Cookie': `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
      });
      res.end();
      return;
    }
    const path = url.pathname;
    if (path.startsWith('/api/call/') && req.method === 'POST')
      return call(req, res, decodePart(path.slice(10), 'the call name'));
    if (path === '/api/upload' && req.method === 'POST') return upload(req, res, url, 'song');
    if (path === '/api/upload-model' && req.method === 'POST') return upload(req, res, url, 'model');
    const stem = /^\/api\/stems\/([^/]+)\/([^/]+)$/.exec(path);
    if (stem && (req.method === 'GET' || req.method === 'HEAD')) {
      const file = opts.service.stemFile(decodePart(stem[1], 'the job id'), decodePart(stem[2], 'the stem name'));
      return sendFile(req, res, file, { 'Cache-Control': 'no-store' });
    }
    const preview = /^\/api\/previews\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (preview && (req.method === 'GET' || req.method === 'HEAD')) {
      const source = preview[3] === undefined ? null : decodePart(preview[3], 'the stem name');
      const bytes = opts.service.previewFile(
        decodePart(preview[1], 'the job id'),
        decodePart(preview[2], 'the preview id'),
        source,
      );
      if (!bytes) return sendText(res, 404, 'No such preview (or no longer kept).');
      return sendBytes(req, res, bytes, { 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store' });
    }
    const listen = /^\/api\/listen\/([^/]+)\/([^/]+)$/.exec(path);
    if (listen && (req.method === 'GET' || req.method === 'HEAD')) {
      const ask = [
        decodePart(listen[1], 'the job id'),
        decodePart(listen[2], 'the revision'),
        url.searchParams.get('from'),
        url.searchParams.get('frames'),
      ] as const;
      const headers = { 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store' };
      if (req.method === 'HEAD') {
        const answer = await opts.service.listenHead(...ask);
        if (answer.kind !== 'head') return sendError(res, listenRefusalBody(answer).error);
        res.writeHead(200, { ...headers, 'X-Content-Type-Options': 'nosniff', 'Content-Length': String(answer.bytes) });
        return void res.end();
      }
      // Closed before the answer: the player gave the block up (a seek), or the page went.
      const givenUp = new AbortController();
      res.once('close', () => givenUp.abort());
      const answer = await opts.service.listen(...ask, givenUp.signal);
      if (answer.kind !== 'audio') return sendError(res, listenRefusalBody(answer).error);
      return sendBytes(req, res, answer.wav, headers);
    }
    if (path.startsWith('/api/')) return sendText(res, 404, 'No such API route.');
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed.');
    return serveStatic(req, res, path);
  }

  async function call(req: IncomingMessage, res: ServerResponse, method: string): Promise<void> {
    // A JSON content type cannot be sent cross-site without a preflight, which we never answer.
    if (!(req.headers['content-type'] ?? '').startsWith('application/json'))
      return sendText(res, 415, 'Calls must be JSON.');
    let args: unknown;
    try {
      args = JSON.parse((await readBody(req, MAX_CALL_BODY)).toString('utf8'));
    } catch (e) {
      return sendError(res, { code: 'BAD_ARGUMENT', message: `request is not valid JSON (${(e as Error).message})` });
    }
    const outcome = await dispatchCall(opts.service, method, args);
    if (outcome.ok) return sendJson(res, 200, outcome);
    sendError(res, outcome.error);
  }

  /** A song is opened and kept while it is queued; a model (.h5, folder .zip) is imported and its copy removed. */
  async function upload(req: IncomingMessage, res: ServerResponse, url: URL, kind: 'song' | 'model'): Promise<void> {
    const sent = url.searchParams.get('name') ?? '';
    const name = basename(sent).replace(/[\0/\\]/g, '');
    const refused = !name
      ? 'an upload needs the file name of the song'
      : name.startsWith('.')
        ? `${sent}: a file name starting with "." cannot be uploaded; rename the file`
        : fitUtf8(name, FILE_NAME_MAX_BYTES) !== name
          ? `${sent}: the file name is longer than ${FILE_NAME_MAX_BYTES} bytes; rename the file`
          : null;
    if (refused) return sendError(res, { code: 'BAD_ARGUMENT', message: refused });
    const limit = opts.maxUploadBytes ?? MAX_UPLOAD;
    const tooLarge = () => {
      // The rest of the body is not read: the connection goes once the answer is sent.
      res.setHeader('Connection', 'close');
      return new XumxError('FILE_TOO_LARGE', `${name}: larger than ${formatBytes(limit)}, the largest upload accepted`);
    };
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length > limit) throw tooLarge();
    // The folder's own failures (a full disk, a read-only data folder) name the song and where it was to be kept.
    const notKept = (err: unknown) => {
      const e = asXumxError(err);
      const code = e.code === 'DISK_FULL' ? 'DISK_FULL' : 'OUTPUT_NOT_WRITABLE';
      return new XumxError(code, `${name}: cannot be kept in ${opts.uploadDir} (${e.message})`, undefined, {
        cause: err,
      });
    };
    await makeFolders(opts.uploadDir).catch((e: unknown) => Promise.reject(notKept(e)));
    const incoming = join(opts.uploadDir, `.incoming-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    const copy = createWriteStream(incoming, { flags: 'wx' });
    let writeError: unknown = null;
    // Only the file's own failures: the stream also ends with whatever stopped the body (too large, cut off).
    copy.once('error', (e: NodeJS.ErrnoException) => {
      if (e.syscall === 'open' || e.syscall === 'write' || e.syscall === 'close') writeError = e;
    });
    try {
      // A chunked body announces no length, so the bytes are counted as they arrive. The request itself is left
      // open when the limit is hit, so the 413 can still be sent on it.
      let received = 0;
      await pipeline(
        req.iterator({ destroyOnReturn: false }),
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            received += chunk.length;
            if (received > limit) throw tooLarge();
            hash.update(chunk);
            yield chunk;
          }
        },
        copy,
      );
      if (!req.complete) throw new XumxError('CANCELLED', `${name}: the upload was interrupted`);
    } catch (e) {
      await rm(incoming, { force: true });
      throw writeError ? notKept(writeError) : e;
    }
    const file = await uploads
      .keep(incoming, join(opts.uploadDir, hash.digest('hex').slice(0, 16), name))
      .catch((e: unknown) => Promise.reject(notKept(e)));
    if (kind === 'model') return importUploadedModel(res, file, name);
    const outcome = await dispatchCall(opts.service, 'open', [[file]]);
    if (outcome.ok) {
      const jobs = outcome.value as JobView[];
      for (const job of jobs) uploadsByJob.set(job.id, file);
      uploads.share(file, jobs.length);
    }
    await uploads.release(file);
    if (outcome.ok) return sendJson(res, 200, outcome);
    sendError(res, outcome.error);
  }

  async function importUploadedModel(res: ServerResponse, file: string, name: string): Promise<void> {
    const outcome = await dispatchCall(opts.service, 'importModel', [file]);
    // Gone before the answer, so whoever reads the answer finds no copy left.
    await uploads.release(file);
    if (outcome.ok) return sendJson(res, 200, outcome);
    // The user knows the file by the name it had on their side, not by the path of the uploaded copy.
    sendError(res, { ...outcome.error, message: outcome.error.message.split(file).join(name) });
  }

  async function serveStatic(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const rel = normalize(decodePart(path === '/' ? '/index.html' : path, 'the path')).replace(/^([/\\])+/, '');
    const file = resolve(rendererDir, rel);
    if (!file.startsWith(rendererDir + sep)) return sendText(res, 404, 'Not found.');
    const info = await stat(file).catch(() => null);
    if (!info?.isFile()) return sendText(res, 404, 'Not found.');
    await sendFile(req, res, file, {
      'Content-Security-Policy': CONTENT_SECURITY_POLICY,
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cache-Control': file.endsWith('index.html') ? 'no-store' : 'max-age=3600',
    });
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 4096 });
  server.on('upgrade', (req, socket, head) => {
    // Node hands the socket over without an error listener; until ws takes it, a reset by the browser is ours to catch.
    socket.on('error', () => socket.destroy());
    let allowed: boolean;
    try {
      const url = requestUrl(req);
      allowed = url.pathname === '/api/events' && hostAllowed(req) && originAllowed(req) && authorised(req, url);
    } catch (e) {
      // Thrown here, a malformed address or cookie would escape every handler and stop the server.
      socket.end(
        `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n${asXumxError(e).message}`,
      );
      return;
    }
    if (!allowed) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws) => sockets.emit('connection', ws, req));
  });
  const clients = new Set<WebSocket>();
  sockets.on('connection', (ws: WebSocket) => {
    clients.add(ws);
    ws.on('close', () => clients.delete(ws));
    // A frame that breaks the protocol (too large, bad UTF-8, unmasked, unknown opcode) is that client's fault
    // alone: its socket is dropped, and the server and every other page go on.
    ws.on('error', () => ws.terminate());
    // The socket only carries events to the page; calls go over HTTP, so anything received is ignored.
    ws.on('message', () => {});
  });
  const unsubscribe = opts.service.onEvent((e: StudioEvent) => {
    const upload = e.type === 'job-removed' ? uploadsByJob.get(e.jobId) : undefined;
    if (e.type === 'job-removed' && upload !== undefined) {
      uploadsByJob.delete(e.jobId);
      void uploads.release(upload);
    }
    const text = JSON.stringify(e);
    for (const ws of clients) if (ws.readyState === ws.OPEN) ws.send(text);
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => ok());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${encodeURIComponent(token)}`,
    port,
    token,
    async close() {
      unsubscribe();
      for (const ws of clients) ws.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
