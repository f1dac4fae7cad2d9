// Electron main process: one window showing the renderer from the app scheme, the shared StudioService behind a
// single validated IPC channel, native menus and dialogs. The engine itself runs in a worker thread.
import { BrowserWindow, Menu, app, dialog, ipcMain, protocol, session, shell, type IpcMainInvokeEvent } from 'electron';
import { createReadStream, existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { AUDIO_EXTENSIONS, type StudioEvent } from '../api/contract.ts';
import { appDataDir, createStudio } from '../api/create-studio.ts';
import { dispatchCall } from '../api/dispatch.ts';
import type { StudioService } from '../api/service.ts';
import { httpStatusFor } from '../api/http-status.ts';
import { listenRefusalBody } from '../api/listen-copies.ts';
import { asXumxError } from '../engine/index.ts';
import { MIME, parseRange } from '../web/http-util.ts';
import { buildMenu } from './menu.ts';
import {
  APP_ENTRY,
  APP_SCHEME,
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  routeAppRequest,
  songArguments,
  windowWebPreferences,
} from './policy.ts';

// Built layout: dist/src-main/electron/{main.js,preload.cjs}; the renderer is dist/renderer.
const here = fileURLToPath(new URL('.', import.meta.url));
const distRoot = resolve(here, '..', '..');
const rendererDir = join(distRoot, 'renderer');
const preloadPath = join(here, 'preload.cjs');

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, stream: true } },
]);
app.enableSandbox();
const dataDir = process.env.XUMX_STUDIO_DATA ?? appDataDir();
app.setPath('userData', join(dataDir, 'electron'));
if (app.isPackaged) process.env.XUMX_STUDIO_BUNDLED_MODELS ??= join(process.resourcesPath, 'models');

let service: StudioService | null = null;
let win: BrowserWindow | null = null;
const pendingSongs: string[] = songArguments(process.argv.slice(app.isPackaged ? 1 : 2));

// A second desktop app hands its songs to the first (second-instance) and goes without starting: reaching start()
// would find the data folder taken and show that as an error.
const firstInstance = app.requestSingleInstanceLock();
if (!firstInstance) app.quit();

app.on('second-instance', (_e, argv) => {
  void openSongs(songArguments(argv.slice(1)));
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

// macOS hands files to the running app through this event (Finder "Open With", dock drops).
app.on('open-file', (e, path) => {
  e.preventDefault();
  if (service) void openSongs([path]);
  else pendingSongs.push(path);
});

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (ev, url) => {
    if (!isAllowedNavigation(url)) ev.preventDefault();
  });
  contents.on('will-redirect', (ev, url) => {
    if (!isAllowedNavigation(url)) ev.preventDefault();
  });
  contents.on('will-attach-webview', (ev) => ev.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});

app.on('window-all-closed', () => app.quit());

app.on('before-quit', (e) => {
  if (!service) return;
  // Cancel running jobs (the engine removes their partial files) before the process goes.
  e.preventDefault();
  const s = service;
  service = null;
  void s.dispose().finally(() => app.quit());
});

app
  .whenReady()
  .then(() => (firstInstance ? start() : undefined))
  .catch((err) => {
    // A data folder another app has open lands here too: its message says which app and how to go on.
    const message = err instanceof Error ? err.message : String(err);
    console.error(`xumx-studio: ${message}`);
    dialog.showErrorBox('X-UMX Studio could not start', message);
    app.exit(1);
  });

async function start(): Promise<void> {
  const studio = await createStudio({
    capabilities: { door: 'electron', nativeDialogs: true, reveal: true, upload: false },
    dataDir,
    otherDataFolder: 'set XUMX_STUDIO_DATA to another folder',
  });
  service = studio.service;
  lockDownSession();
  protocol.handle(APP_SCHEME, serveAppRequest);
  registerIpc();
  service.onEvent((e: StudioEvent) => {
    if (win && !win.isDestroyed()) win.webContents.send('xumx:event', e);
  });
  await refreshMenu();
  win = new BrowserWindow({
    width: 1280,
    height: 820,
    minWidth: 900,
    minHeight: 560,
    title: 'X-UMX Studio',
    show: false,
    backgroundColor: '#15171b',
    webPreferences: windowWebPreferences(preloadPath),
  });
  win.once('ready-to-show', () => win?.show());
  await win.loadURL(APP_ENTRY);
  if (studio.notice) void dialog.showMessageBox(win, { type: 'warning', message: studio.notice });
  if (pendingSongs.length) await openSongs(pendingSongs.splice(0));
}

function lockDownSession(): void {
  const s = session.defaultSession;
  s.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  s.setPermissionCheckHandler(() => false);
  // Nothing from the network: the app scheme is the only origin a page may load from.
  s.webRequest.onBeforeRequest((details, callback) => {
    const ok =
      details.url.startsWith(`${APP_SCHEME}:`) ||
      details.url.startsWith('devtools:') ||
      details.url.startsWith('data:') ||
      details.url.startsWith('blob:');
    callback({ cancel: !ok });
  });
}

/** An error in the API's error form with its code's status, as the browser-mode server answers it (sendError). */
function errorResponse(error: { code: string; message: string }): Response {
  return new Response(JSON.stringify({ ok: false, error }), {
    status: httpStatusFor(error.code),
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
  });
}

async function serveAppRequest(request: Request): Promise<Response> {
  const route = routeAppRequest(request.url);
  if (route.kind === 'refused') return new Response('Not found', { status: 404 });
  if (route.kind === 'bad-request') return errorResponse({ code: 'BAD_ARGUMENT', message: route.message });
  const headers: Record<string, string> = { 'X-Content-Type-Options': 'nosniff' };
  if (route.kind === 'preview') {
    const bytes = service!.previewFile(route.jobId, route.id, route.source);
    if (!bytes) return new Response('Not found', { status: 404 });
    return new Response(new Uint8Array(bytes), {
      status: 200,
      headers: {
        ...headers,
        'Content-Type': 'audio/wav',
        'Cache-Control': 'no-store',
        'Content-Length': String(bytes.length),
      },
    });
  }
  if (route.kind === 'listen') {
    const ask = [route.jobId, route.revision, route.from, route.frames] as const;
    const audio = { ...headers, 'Content-Type': 'audio/wav', 'Cache-Control': 'no-store' };
    // The request's signal fires when the page aborts the fetch (the player gave the block up): it is not rendered.
    const answer =
      request.method === 'HEAD' ? await service!.listenHead(...ask) : await service!.listen(...ask, request.signal);
    if (answer.kind === 'head')
      return new Response(null, { status: 200, headers: { ...audio, 'Content-Length': String(answer.bytes) } });
    if (answer.kind !== 'audio') return errorResponse(listenRefusalBody(answer).error);
    return new Response(new Uint8Array(answer.wav), {
      status: 200,
      headers: { ...audio, 'Content-Length': String(answer.wav.length) },
    });
  }
  let file: string;
  if (route.kind === 'stem') {
    try {
      file = service!.stemFile(route.jobId, route.source);
    } catch (e) {
      const err = asXumxError(e);
      return errorResponse({ code: err.code, message: err.message });
    }
  } else {
    file = resolve(rendererDir, route.path);
    if (!file.startsWith(rendererDir + sep)) return new Response('Not found', { status: 404 });
    headers['Content-Security-Policy'] = CONTENT_SECURITY_POLICY;
  }
  const info = await stat(file).catch(() => null);
  if (!info?.isFile()) return new Response('Not found', { status: 404 });
  headers['Content-Type'] = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream';
  headers['Accept-Ranges'] = 'bytes';
  const range = parseRange(request.headers.get('range') ?? undefined, info.size);
  if (range === 'invalid')
    return new Response(null, { status: 416, headers: { ...headers, 'Content-Range': `bytes */${info.size}` } });
  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  headers['Content-Length'] = String(end - start + 1);
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${info.size}`;
  const body = Readable.toWeb(createReadStream(file, { start, end })) as ReadableStream;
  return new Response(body, { status: range ? 206 : 200, headers });
}

function trusted(e: IpcMainInvokeEvent): boolean {
  return isTrustedSender(e.senderFrame?.url, e.senderFrame === e.sender.mainFrame);
}

const REFUSED = {
  ok: false,
  error: { code: 'BAD_ARGUMENT', message: 'request refused: not from the app window' },
} as const;

function registerIpc(): void {
  ipcMain.handle('xumx:call', async (e, method: unknown, args: unknown) => {
    if (!trusted(e)) return REFUSED;
    const outcome = await dispatchCall(service!, method, args);
    if (outcome.ok && method === 'open') await refreshMenu();
    return outcome;
  });
  ipcMain.handle('xumx:choose-files', async (e) => {
    if (!trusted(e)) return REFUSED;
    const paths = await pickSongs(false);
    return paths.length ? dispatchCall(service!, 'open', [paths]).finally(refreshMenu) : { ok: true, value: [] };
  });
  ipcMain.handle('xumx:choose-model-file', async (e) => {
    if (!trusted(e) || !win) return REFUSED;
    const r = await dialog.showOpenDialog(win, {
      title: 'Import a model',
      properties: ['openFile'],
      filters: [
        { name: 'X-UMX weights or model .zip', extensions: ['h5', 'zip'] },
        { name: 'All files', extensions: ['*'] },
      ],
    });
    // null: the dialog was dismissed, nothing to import.
    return r.canceled || !r.filePaths[0]
      ? { ok: true, value: null }
      : dispatchCall(service!, 'importModel', [r.filePaths[0]]);
  });
  ipcMain.handle('xumx:choose-folder', async (e, initial: unknown) => {
    if (!trusted(e) || !win) return null;
    const r = await dialog.showOpenDialog(win, {
      title: 'Choose a folder',
      defaultPath: typeof initial === 'string' && initial.length < 4096 && existsSync(initial) ? initial : undefined,
      properties: ['openDirectory', 'createDirectory'],
    });
    return r.canceled ? null : (r.filePaths[0] ?? null);
  });
  ipcMain.handle('xumx:reveal', (e, path: unknown) => {
    // Only files this app wrote: the renderer cannot use this to probe the file system.
    if (!trusted(e) || typeof path !== 'string' || !service!.policy.wasWritten(path)) return;
    shell.showItemInFolder(path);
  });
}

async function pickSongs(folders: boolean): Promise<string[]> {
  if (!win) return [];
  const r = await dialog.showOpenDialog(win, {
    title: folders ? 'Open a folder of songs' : 'Open songs',
    properties: folders ? ['openDirectory', 'multiSelections'] : ['openFile', 'multiSelections'],
    filters: folders
      ? undefined
      : [
          { name: 'Audio', extensions: AUDIO_EXTENSIONS.map((x) => x.slice(1)) },
          { name: 'All files', extensions: ['*'] },
        ],
  });
  return r.canceled ? [] : r.filePaths;
}

async function openSongs(paths: string[]): Promise<void> {
  if (!service || paths.length === 0) return;
  const outcome = await dispatchCall(service, 'open', [paths.map((p) => resolve(p))]);
  if (!outcome.ok && win) void dialog.showMessageBox(win, { type: 'error', message: outcome.error.message });
  await refreshMenu();
}

async function refreshMenu(): Promise<void> {
  if (!service) return;
  const recent = await service.recentFiles();
  Menu.setApplicationMenu(
    buildMenu(recent, {
      openFiles: () => void pickSongs(false).then(openSongs),
      openFolder: () => void pickSongs(true).then(openSongs),
      openRecent: (p) => void openSongs([p]),
      showPanel: (panel) => service?.emit({ type: 'menu', action: panel }),
    }),
  );
}
