// Small HTTP pieces of the browser-mode door: token checks, static files and byte-range streaming.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { timingSafeEqual } from 'node:crypto';
import { decodePart } from '../api/validate.ts';
import { httpStatusFor } from '../api/http-status.ts';

export const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wav': 'audio/wav',
  '.flac': 'audio/flac',
  '.mp3': 'audio/mpeg',
};

/** Same policy in both doors; with the app scheme, 'self' is the app. */
export { CONTENT_SECURITY_POLICY } from '../api/content-security-policy.ts';

export function sameToken(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodePart(v.join('='), `the ${name} cookie`);
  }
  return null;
}

// Every answer says its type is final, so no browser reads an error message or a JSON value as a page or a script.
const NO_SNIFF = { 'X-Content-Type-Options': 'nosniff' } as const;

/** An error in the API's error form, answered with its code's status (api/http-status.ts). */
export function sendError(res: ServerResponse, error: { code: string; message: string }): void {
  sendJson(res, httpStatusFor(error.code), { ok: false, error });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-store',
    'Content-Length': Buffer.byteLength(text),
    ...NO_SNIFF,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...NO_SNIFF });
  res.end(text);
}

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new Error(`request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Answers with bytes held in memory, whole (a preview's few seconds need no ranges). */
export function sendBytes(
  req: IncomingMessage,
  res: ServerResponse,
  bytes: Buffer,
  headers: Record<string, string>,
): void {
  res.writeHead(200, { ...headers, ...NO_SNIFF, 'Content-Length': String(bytes.length) });
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Parses a single "bytes=a-b" range against a file size; null means "send everything", 'invalid' means 416. */
export function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | 'invalid' {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'invalid';
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'invalid';
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start > end || start >= size) return 'invalid';
  return { start, end };
}

/** Streams a file, honouring a byte range so the browser can seek in long stems. */
export async function sendFile(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  const info = await stat(path);
  const type = MIME[extname(path).toLowerCase()] ?? 'application/octet-stream';
  const range = parseRange(req.headers.range, info.size);
  const base = { 'Content-Type': type, 'Accept-Ranges': 'bytes', ...NO_SNIFF, ...extraHeaders };
  if (range === 'invalid') {
    res.writeHead(416, { ...base, 'Content-Range': `bytes */${info.size}` });
    res.end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  const headers = { ...base, 'Content-Length': String(Math.max(0, end - start + 1)) };
  if (range) res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${info.size}` });
  else res.writeHead(200, headers);
  if (req.method === 'HEAD' || info.size === 0) {
    res.end();
    return;
  }
  await new Promise<void>((resolveDone, reject) => {
    const stream = createReadStream(path, { start, end });
    stream.on('error', reject);
    res.on('close', () => {
      stream.destroy();
      resolveDone();
    });
    stream.pipe(res);
  });
}
