// The Electron security settings and checks, as plain data and pure functions (no electron import), so they are
// unit-tested here even where the Electron binary cannot be installed.
import { XumxError } from '../engine/index.ts';
import { decodePart } from '../api/validate.ts';

/** The renderer is served from this privileged scheme; nothing else may be loaded into the window. */
export const APP_SCHEME = 'xumx';
export const APP_ORIGIN = `${APP_SCHEME}://app`;
export const APP_ENTRY = `${APP_ORIGIN}/index.html`;

export function windowWebPreferences(preloadPath: string) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    sandbox: true,
    webSecurity: true,
    allowRunningInsecureContent: false,
    experimentalFeatures: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  } as const;
}

/** Same policy in both doors; with the app scheme, 'self' is the app. */
export { CONTENT_SECURITY_POLICY } from '../api/content-security-policy.ts';

/** Only the app's own page may be shown: any other navigation (links, drops, redirects) is refused. */
export function isAllowedNavigation(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === `${APP_SCHEME}:` && u.host === 'app';
  } catch {
    return false;
  }
}

/** IPC is answered only for the app's own top-level page. */
export function isTrustedSender(frameUrl: string | undefined, isMainFrame: boolean): boolean {
  return isMainFrame && frameUrl !== undefined && isAllowedNavigation(frameUrl);
}

export type AppRoute =
  | { kind: 'stem'; jobId: string; source: string }
  /** `source` null: every stem of the preview in one WAV. */
  | { kind: 'preview'; jobId: string; id: string; source: string | null }
  /** A block of a render's listening copy; `from` and `frames` as the query gives them (checked by the service). */
  | { kind: 'listen'; jobId: string; revision: string; from: string | null; frames: string | null }
  | { kind: 'static'; path: string }
  | { kind: 'refused' }
  | { kind: 'bad-request'; message: string };

/** Maps a request on the app scheme to what it asks for. Paths never leave the renderer folder. */
export function routeAppRequest(url: string): AppRoute {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { kind: 'refused' };
  }
  if (u.protocol !== `${APP_SCHEME}:` || u.host !== 'app') return { kind: 'refused' };
  try {
    const stem = /^\/api\/stems\/([^/]+)\/([^/]+)$/.exec(u.pathname);
    if (stem)
      return { kind: 'stem', jobId: decodePart(stem[1], 'the job id'), source: decodePart(stem[2], 'the stem name') };
    const preview = /^\/api\/previews\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(u.pathname);
    if (preview) {
      return {
        kind: 'preview',
        jobId: decodePart(preview[1], 'the job id'),
        id: decodePart(preview[2], 'the preview id'),
        source: preview[3] === undefined ? null : decodePart(preview[3], 'the stem name'),
      };
    }
    const listen = /^\/api\/listen\/([^/]+)\/([^/]+)$/.exec(u.pathname);
    if (listen) {
      return {
        kind: 'listen',
        jobId: decodePart(listen[1], 'the job id'),
        revision: decodePart(listen[2], 'the revision'),
        from: u.searchParams.get('from'),
        frames: u.searchParams.get('frames'),
      };
    }
    const path = decodePart(u.pathname === '/' ? '/index.html' : u.pathname, 'the path');
    if (path.split(/[\\/]/).includes('..') || path.includes('\0')) return { kind: 'refused' };
    return { kind: 'static', path: path.replace(/^\/+/, '') };
  } catch (e) {
    if (e instanceof XumxError) return { kind: 'bad-request', message: e.message };
    throw e;
  }
}

/** Songs named on the command line (or by the OS when a file is opened with the app). */
export function songArguments(argv: string[]): string[] {
  return argv.filter((a) => !a.startsWith('-') && !/\.(m?js|ts|asar)$/.test(a) && a !== '.');
}
