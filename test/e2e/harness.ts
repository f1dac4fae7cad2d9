// Shared setup of the browser end-to-end tests: a tiny random-weight test model, a generated song, browser mode
// started in this process on a free port, and Debian's chromium driven by playwright-core.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createStudio, type StudioOptions } from '../../src-main/api/create-studio.ts';
import type { StudioService } from '../../src-main/api/service.ts';
import type { JobView } from '../../src-main/api/contract.ts';
import { startWebServer, type WebServer } from '../../src-main/web/server.ts';
// @ts-expect-error plain ESM helper without type declarations
import { ensureRendererBuilt, rendererDir } from '../../scripts/renderer-build.mjs';

export const CHROMIUM = '/usr/bin/chromium';
export const root = new URL('../../', import.meta.url).pathname;
export const screenshotDir = join(root, 'test-output', 'screenshots');

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--headless',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
];

/** Why the browser tests cannot run here, or null when they can. */
export function skipReason(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is absent (.ci/run installs Debian's chromium)`;
  if (!existsSync('/usr/bin/python3')) return '/usr/bin/python3 (with torch) is needed to build the test model';
  return null;
}

/** Builds a random-weight X-UMX test model (hidden 16) with the training exporter; cached per test run. */
export function makeTestModel(modelsDir: string, id = 'tiny-test'): void {
  const out = join(modelsDir, id);
  if (existsSync(join(out, 'manifest.json'))) return;
  const r = spawnSync(
    '/usr/bin/python3',
    [
      join(root, 'training', 'export_onnx.py'),
      '--out',
      out,
      '--id',
      id,
      '--random-init',
      '--seed',
      '0',
      '--hidden',
      '16',
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`export_onnx.py failed:\n${r.stderr}`);
}

export interface Studio {
  dir: string;
  service: StudioService;
  server: WebServer;
  browser: Browser;
  page: Page;
  /** Settles when the app's engine is ready for a first song (createStudio's engineWarm). */
  engineWarm: Promise<void>;
  close(): Promise<void>;
}

/**
 * `models: false`: no test model; `modelDirs`: model roots to use besides (the UI benchmark's full-size model);
 * `modelInstall`: where installs fetch published weights. Installs and imports go to <dir>/user-models.
 * `modelManifest`: fields added to the test model's manifest.json (its sha256 is the network file's, so it stays).
 */
export async function startStudio(
  opts: {
    models?: boolean;
    modelDirs?: string[];
    modelInstall?: StudioOptions['modelInstall'];
    modelManifest?: Record<string, unknown>;
  } = {},
): Promise<Studio> {
  const failure = ensureRendererBuilt({ quiet: true });
  if (failure) throw new Error(`vite build failed:\n${failure}`);
  const dir = mkdtempSync(join(tmpdir(), 'xumx-e2e-'));
  const modelsDir = join(dir, 'models');
  mkdirSync(modelsDir, { recursive: true });
  if (opts.models !== false) makeTestModel(modelsDir);
  if (opts.modelManifest) {
    const manifest = join(modelsDir, 'tiny-test', 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(readFileSync(manifest, 'utf8')), ...opts.modelManifest }));
  }
  const { service, dataDir, engineWarm } = await createStudio({
    capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    dataDir: join(dir, 'data'),
    modelDirs: [modelsDir, ...(opts.modelDirs ?? [])],
    allowTestModels: true,
    outputFolder: join(dir, 'stems'),
    userModelsDir: join(dir, 'user-models'),
    modelInstall: opts.modelInstall,
  });
  const server = await startWebServer({ service, rendererDir, uploadDir: join(dataDir, 'uploads') });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  await page.goto(server.url);
  return {
    dir,
    service,
    server,
    browser,
    page,
    engineWarm,
    async close() {
      await browser.close();
      await server.close();
      await service.dispose();
      rmSync(dir, { recursive: true, force: true });
      if (problems.length) console.log(`[e2e] browser reported:\n  ${problems.join('\n  ')}`);
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(screenshotDir, { recursive: true });
  const path = join(screenshotDir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/** Drops `song` on the page through the file input and waits until it is separated; its job. */
export async function separateInPage(s: Studio, song: string): Promise<JobView> {
  await s.page.getByTestId('file-input').first().setInputFiles(song);
  await s.page.getByTestId('queue-item').first().and(s.page.locator('[data-state=done]')).waitFor({ timeout: 180_000 });
  return (await s.service.listJobs())[0];
}

/** Resolves once the page's playhead has left 0:00.0: what the benches count as the first sound. */
/** The editor holds its first block of audio (Play is enabled before, and then waits for it). */
export async function audioReady(page: Page, timeout = 600_000): Promise<void> {
  await page.locator('[data-testid=tracks][data-audio-ready=true]').waitFor({ timeout });
}

export async function playheadLeftStart(page: Page, timeout = 600_000): Promise<void> {
  await page.waitForFunction(
    () =>
      (
        globalThis as unknown as { document: { querySelector(q: string): { textContent: string | null } | null } }
      ).document.querySelector('[data-testid=position]')?.textContent !== '0:00.0',
    undefined,
    { timeout, polling: 20 },
  );
}
