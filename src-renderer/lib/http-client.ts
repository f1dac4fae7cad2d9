// Browser-mode client: calls are JSON POSTs, events come over a WebSocket, songs and model files arrive as uploads.
// The token travels as the same-site cookie the server set when the printed link was opened.
import type { JobView, ModelsView, StudioEvent } from '../../src-main/api/contract.ts';
import { ApiCallError, apiOver, listenUrl, previewUrl, stemUrl, type StudioClient } from './client.ts';

type Outcome = { ok: true; value: unknown } | { ok: false; error: { code: string; message: string } };

async function unwrap(res: Response): Promise<unknown> {
  let body: Outcome;
  try {
    body = (await res.json()) as Outcome;
  } catch {
    throw new ApiCallError('INTERNAL', `the server answered ${res.status} ${res.statusText}`);
  }
  if (!body.ok) throw new ApiCallError(body.error.code, body.error.message);
  return body.value;
}

/**
 * Uploads each song of a drop, one at a time. A song refused (a name the server will not keep, a full disk, not audio)
 * does not stop the ones after it: they are queued, and the refusals come back together, each naming its file.
 */
export async function uploadEach<F extends { name: string }, J>(
  files: F[],
  upload: (file: F) => Promise<J[]>,
): Promise<J[]> {
  const out: J[] = [];
  const refused: { file: F; error: unknown }[] = [];
  for (const file of files) {
    try {
      out.push(...(await upload(file)));
    } catch (error) {
      refused.push({ file, error });
    }
  }
  if (refused.length === 0) return out;
  if (files.length === 1) throw refused[0].error;
  const lines = refused.map(({ file, error }) => {
    const message = error instanceof Error ? error.message : String(error);
    return message.startsWith(`${file.name}: `) ? message : `${file.name}: ${message}`;
  });
  const first = refused[0].error;
  throw new ApiCallError(
    first instanceof ApiCallError ? first.code : 'INTERNAL',
    `${refused.length} of ${files.length} songs were not added:\n${lines.join('\n')}`,
  );
}

export function createHttpClient(): StudioClient {
  const listeners = new Set<(e: StudioEvent) => void>();
  let socket: WebSocket | null = null;
  let retryMs = 250;

  const connect = () => {
    const url = new URL('/api/events', location.href);
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.onopen = () => (retryMs = 250);
    socket.onmessage = (m) => {
      const e = JSON.parse(String(m.data)) as StudioEvent;
      for (const l of listeners) l(e);
    };
    // The server may restart or the laptop may sleep; reconnect with backoff.
    socket.onclose = () => {
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  connect();

  const call = async (method: string, args: unknown[]) =>
    unwrap(
      await fetch(`/api/call/${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(args),
      }),
    );

  const upload = async (route: 'upload' | 'upload-model', file: File) =>
    unwrap(await fetch(`/api/${route}?name=${encodeURIComponent(file.name)}`, { method: 'POST', body: file }));

  return {
    ...apiOver(call),
    onEvent(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    stemUrl,
    previewUrl,
    listenUrl,
    async chooseFiles() {
      return [];
    },
    async chooseFolder() {
      return null;
    },
    addFiles(files) {
      return uploadEach(files, async (f) => (await upload('upload', f)) as JobView[]);
    },
    async chooseModelFile() {
      return null;
    },
    // The server keeps the uploaded copy only while it imports it.
    async importModelFile(file) {
      return (await upload('upload-model', file)) as ModelsView;
    },
    async reveal() {},
  };
}
