// The desktop app itself, through Playwright's Electron driver: a window opens on the app page, the preload
// exposes only the small bridge, Node is out of reach, the CSP header is sent, navigation and new windows are
// refused. Runs where the Electron binary is installed; offline installs cannot download it, so it skips there.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication, type Page } from 'playwright-core';
// @ts-expect-error plain ESM helper without type declarations
import { findElectronBinary } from '../../scripts/electron-binary.mjs';
// @ts-expect-error plain ESM helper without type declarations
import { buildElectron } from '../../scripts/build-electron.mjs';
// @ts-expect-error plain ESM helper without type declarations
import { ensureRendererBuilt } from '../../scripts/renderer-build.mjs';

const binary = findElectronBinary() as { path: string | null; reason: string | null };
const root = new URL('../../', import.meta.url).pathname;

describe('Electron app', { skip: binary.path ? false : binary.reason!, timeout: 180_000 }, () => {
  let app: ElectronApplication;
  let page: Page;
  let dataDir: string;

  before(async () => {
    const failure = ensureRendererBuilt({ quiet: true });
    if (failure) throw new Error(failure);
    await buildElectron();
    dataDir = mkdtempSync(join(tmpdir(), 'xumx-electron-'));
    app = await _electron.launch({
      executablePath: binary.path!,
      args: [join(root, 'dist', 'src-main', 'electron', 'main.js'), '--no-sandbox'],
      env: { ...process.env, XUMX_STUDIO_DATA: dataDir, XUMX_STUDIO_MODELS: join(dataDir, 'models') },
    });
    page = await app.firstWindow();
    await page.waitForLoadState('domcontentloaded');
  });

  after(async () => {
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('opens one window on the app page', async () => {
    assert.equal(app.windows().length, 1);
    assert.equal(page.url(), 'xumx://app/index.html');
    assert.equal(await page.title(), 'X-UMX Studio');
  });

  test('exposes only the small bridge and no Node', async () => {
    const keys = (await page.evaluate('Object.keys(window.xumx).sort()')) as string[];
    assert.deepEqual(keys, ['call', 'chooseFiles', 'chooseFolder', 'onEvent', 'pathForFile', 'reveal']);
    assert.equal(await page.evaluate('typeof require'), 'undefined');
    assert.equal(await page.evaluate('typeof process'), 'undefined');
    const settings = (await page.evaluate("window.xumx.call('getSettings', [])")) as { ok: boolean };
    assert.equal(settings.ok, true);
    const bad = (await page.evaluate("window.xumx.call('open', ['/etc/passwd'])")) as {
      ok: boolean;
      error: { code: string };
    };
    assert.equal(bad.ok, false, 'a bare string is not a list of paths');
    assert.equal(bad.error.code, 'BAD_ARGUMENT');
  });

  test('runs the renderer isolated and sandboxed', async () => {
    const prefs = (await app.evaluate(({ BrowserWindow }) => {
      const wc = BrowserWindow.getAllWindows()[0].webContents as unknown as {
        getLastWebPreferences?: () => Record<string, unknown>;
      };
      return wc.getLastWebPreferences?.() ?? null;
    })) as Record<string, unknown> | null;
    if (prefs) {
      assert.equal(prefs.contextIsolation, true);
      assert.equal(prefs.sandbox, true);
      assert.equal(prefs.nodeIntegration, false);
    }
    assert.equal(await page.evaluate('typeof globalThis.Buffer'), 'undefined');
  });

  test('sends the strict content security policy', async () => {
    const csp = (await page.evaluate(
      "fetch('xumx://app/index.html').then((r) => r.headers.get('content-security-policy'))",
    )) as string;
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /default-src 'none'/);
  });

  test('refuses navigation and new windows', async () => {
    await page.evaluate("window.open('https://example.com/')");
    await page.evaluate("location.href = 'https://example.com/'").catch(() => {});
    await page.waitForTimeout(500);
    assert.equal(app.windows().length, 1);
    assert.equal(page.url(), 'xumx://app/index.html');
  });
});

if (!binary.path) test(`Electron end-to-end tests skipped: ${binary.reason}`, { skip: binary.reason! }, () => {});
