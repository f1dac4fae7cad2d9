// Test helper: a local HTTP server that serves a weights file like a publisher does (Range requests, 206/416),
// plus a slow route for pausing and cancelling mid-download and a 404. Records every request's Range header.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HDF5_SIGNATURE } from '../../engine/convert/nnabla-h5.ts';

/** Bytes that pass the download's HDF5 checks (signature, declared size) without being a parameter file. */
export function hdf5Lookalike(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let s = seed;
  for (let i = 64; i < size; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    b[i] = s >>> 24;
  }
  HDF5_SIGNATURE.copy(b, 0);
  b[8] = 0; // superblock version 0
  b[13] = 8; // offset size
  b[14] = 8; // length size
  b.writeBigUInt64LE(0n, 24); // base address
  b.writeBigUInt64LE(BigInt(size), 40); // end-of-file address
  return b;
}

export interface WeightsServer {
  base: string;
  ranges: (string | undefined)[];
  close(): Promise<void>;
}

function send(req: IncomingMessage, res: ServerResponse, body: Buffer, chunkDelayMs: number): void {
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  if (start >= body.length && m) {
    res.writeHead(416, { 'content-range': `bytes */${body.length}` }).end();
    return;
  }
  res.writeHead(m ? 206 : 200, {
    'content-type': 'application/octet-stream',
    'content-length': body.length - start,
    'accept-ranges': 'bytes',
    ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
  });
  if (!chunkDelayMs) return void res.end(body.subarray(start));
  let at = start;
  const tick = () => {
    if (res.destroyed) return;
    if (at >= body.length) return void res.end();
    res.write(body.subarray(at, at + 32768));
    at += 32768;
    setTimeout(tick, chunkDelayMs);
  };
  tick();
}

/** `files`: path (e.g. "/x.h5") to body; any path under /slow/ serves the same body in slow chunks. */
export async function startWeightsServer(files: Record<string, Buffer>): Promise<WeightsServer> {
  const ranges: (string | undefined)[] = [];
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    ranges.push(req.headers.range);
    const slow = url.startsWith('/slow/');
    const body = files[slow ? url.slice('/slow'.length) : url];
    if (!body) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    send(req, res, body, slow ? 20 : 0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    ranges,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
