// The Models view end to end in browser mode, as a new user meets it: the first-run offer, one-click install of
// generated official-layout weights from a local HTTP server (progress, pause, resume by Range request, the
// conversion), a song separated with the new model, removal; and the failures: a 404, a slow server cancelled, a
// broken file, a truncated transfer resumed, refused imports. The only model at start is the real bundled one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundledModelsDir } from '../../src-main/engine/model/registry.ts';
import { makeSong } from '../fixtures/audio.ts';
import { hasH5py, writeNnablaFixture } from '../integration/convert-fixtures.ts';
import { screenshot, skipReason, startStudio, type Studio } from './harness.ts';

const reason = skipReason() ?? (hasH5py ? null : 'needs Debian python3 with h5py and numpy (python3-h5py)');
const OFFICIAL = 'xumx-official';

/** Minimal DOM shape for page-side predicates (this file compiles without the DOM library). */
type PageDocument = { querySelector(s: string): { getAttribute(n: string): string | null } | null };
// Predicates run in the page must be functions: the app's CSP forbids evaluating strings there.
const downloadPercentAbove = (pct: number) =>
  Number(
    (globalThis as unknown as { document: PageDocument }).document
      .querySelector('[aria-label="Download progress"]')
      ?.getAttribute('aria-valuenow') ?? -1,
  ) > pct;

/**
 * A publisher's server for the weights: Range requests answered with 206, `/x-umx.h5` at a pace a progress bar can
 * show, `/slow.h5` far slower, `/truncated.h5` cut off halfway through its first full answer, everything else 404.
 */
class WeightsHost {
  private server!: Server;
  base = '';
  /** The Range header of every request, by path. */
  readonly ranges: { path: string; range: string | undefined }[] = [];
  private cutOnce = true;

  constructor(private readonly files: Record<string, Buffer>) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => this.answer(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? '';
    this.ranges.push({ path, range: req.headers.range });
    const body = this.files[path];
    if (!body) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = m ? Number(m[1]) : 0;
    res.writeHead(m ? 206 : 200, {
      'content-type': 'application/octet-stream',
      'content-length': body.length - start,
      'accept-ranges': 'bytes',
      ...(m ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    });
    if (path === '/truncated.h5' && !m && this.cutOnce) {
      this.cutOnce = false;
      res.write(body.subarray(0, body.length >> 1), () => res.destroy());
      return;
    }
    const [chunk, pauseMs] =
      path === '/slow.h5' ? [16 * 1024, 50] : path === '/x-umx.h5' ? [512 * 1024, 25] : [body.length, 0];
    let at = start;
    const tick = () => {
      if (res.destroyed) return;
      if (at >= body.length) return void res.end();
      res.write(body.subarray(at, at + chunk));
      at += chunk;
      setTimeout(tick, pauseMs);
    };
    tick();
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('the Models view end to end', { skip: reason ?? false, timeout: 900_000 }, () => {
  let s: Studio;
  let host: WeightsHost;
  /** The path the next install fetches from the weights host. */
  let route = '/x-umx.h5';
  let userModels: string;

  before(async () => {
    const fixtures = mkdtempSync(join(tmpdir(), 'xumx-e2e-weights-'));
    writeNnablaFixture(join(fixtures, 'full.h5'), 5);
    writeNnablaFixture(join(fixtures, 'small.h5'), 6, ['--hidden', '16']);
    const full = readFileSync(join(fixtures, 'full.h5'));
    host = new WeightsHost({
      '/x-umx.h5': full,
      '/slow.h5': full,
      '/truncated.h5': full,
      '/broken.h5': readFileSync(join(fixtures, 'small.h5')),
    });
    await host.start();
    s = await startStudio({
      models: false,
      modelDirs: [bundledModelsDir()],
      modelInstall: { urlFor: () => `${host.base}${route}` },
    });
    userModels = join(s.dir, 'user-models');
    writeFileSync(join(s.dir, 'small.h5'), readFileSync(join(fixtures, 'small.h5')));
    rmSync(fixtures, { recursive: true, force: true });
  });

  after(async () => {
    await s?.close();
    await host?.close();
  });

  const page = () => s.page;
  const offer = () => page().getByTestId('model-offer');
  const modelsView = () => page().getByRole('dialog', { name: 'Models' });
  const card = () => modelsView().getByTestId('install-card');
  const modelCard = (id: string) => modelsView().locator(`[data-testid=model-card][data-model-id="${id}"]`);
  const installed = () => readdirSync(userModels).filter((n) => !n.startsWith('.'));
  const leftDownloads = () =>
    existsSync(join(userModels, '.downloads')) ? readdirSync(join(userModels, '.downloads')) : [];

  async function openModels(): Promise<void> {
    if (await modelsView().isVisible()) return;
    await page().getByRole('button', { name: 'Models', exact: true }).click();
    await modelsView().waitFor();
  }

  async function closeModels(): Promise<void> {
    await modelsView().getByRole('button', { name: 'Close' }).last().click();
    await modelsView().waitFor({ state: 'hidden' });
  }

  async function installFrom(path: string): Promise<void> {
    route = path;
    await openModels();
    await card().getByRole('button', { name: 'Install' }).click();
  }

  test('offers the published weights while only the bundled model is installed, with the download size', async () => {
    await offer().waitFor();
    const text = await offer().textContent();
    assert.match(text ?? '', /Better separation is one download away/);
    // No published size is recorded for the official file: the size shown is the estimate, and says so.
    assert.match(text ?? '', /about \d+(\.\d)? MB download/);
    await offer()
      .getByRole('button', { name: /^Install \(about \d+(\.\d)? MB\)$/ })
      .waitFor();
    await screenshot(page(), 'models-first-run-offer');
  });

  test('shows the bundled model with its details, marked as used for new songs, and says why it cannot be removed', async () => {
    await openModels();
    const small = modelCard('xumx-studio-small');
    await small.waitFor();
    const text = (await small.textContent()) ?? '';
    for (const part of [
      'Bundled',
      'Used for new songs',
      'int4 + int8',
      'vocals',
      'Measured here',
      'cannot be removed',
    ]) {
      assert.ok(text.includes(part), `the bundled model's card says "${part}": ${text}`);
    }
    assert.match(text, /Size on disk\s*7(\.\d)? MB/);
    assert.equal(await small.getByRole('button', { name: /^Remove/ }).count(), 0);
    await screenshot(page(), 'models-view-bundled');
  });

  test('ends a download that finds nothing (404) with what happened and what to do, installing nothing', async () => {
    await installFrom('/missing.h5');
    const error = card().getByTestId('install-error');
    await error.waitFor();
    const text = (await error.textContent()) ?? '';
    assert.match(text, /HTTP 404/);
    assert.match(text, /address may have moved/);
    await card().getByRole('button', { name: 'Dismiss' }).click();
    await card().getByRole('button', { name: 'Install' }).waitFor();
    assert.deepEqual(installed(), []);
  });

  test('cancels a download from a slow server and leaves no partial file', async () => {
    await installFrom('/slow.h5');
    await page().waitForFunction(downloadPercentAbove, 0);
    assert.match((await card().getByTestId('download-figures').textContent()) ?? '', /kB|MB/);
    await card().getByRole('button', { name: 'Cancel' }).click();
    await card().getByRole('button', { name: 'Install' }).waitFor();
    assert.deepEqual(leftDownloads(), []);
    assert.deepEqual(installed(), []);
  });

  test('refuses a broken weight file naming the parameters expected and found, and removes it', async () => {
    await installFrom('/broken.h5');
    const error = card().getByTestId('install-error');
    await error.waitFor({ timeout: 120_000 });
    const text = (await error.textContent()) ?? '';
    assert.match(text, /not the expected X-UMX network/);
    assert.match(text, /expected \(2974, 512\)/);
    await card().getByRole('button', { name: 'Dismiss' }).click();
    assert.deepEqual(installed(), []);
    assert.deepEqual(leftDownloads(), []);
  });

  test('resumes a transfer cut off halfway with a Range request and installs the model', async () => {
    await installFrom('/truncated.h5');
    const error = card().getByTestId('install-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /continue from where it stopped/);
    const resume = card().getByRole('button', { name: 'Resume' });
    await resume.click();
    await modelCard(OFFICIAL).waitFor({ timeout: 300_000 });
    const asked = host.ranges.filter((r) => r.path === '/truncated.h5').map((r) => r.range);
    assert.equal(asked[0], undefined);
    assert.match(asked.at(-1) ?? '', /^bytes=[1-9]\d*-$/);
    await removeOfficial();
  });

  async function removeOfficial(): Promise<void> {
    await openModels();
    await modelCard(OFFICIAL)
      .getByRole('button', { name: /^Remove .*…$/ })
      .click();
    await modelCard(OFFICIAL)
      .getByText(/Songs already separated with it keep their stems/)
      .waitFor();
    await modelCard(OFFICIAL).getByRole('button', { name: 'Remove', exact: true }).click();
    await modelCard(OFFICIAL).waitFor({ state: 'detached' });
    assert.deepEqual(installed(), []);
  }

  test('installs with one click from the offer: the progress moves, pauses and resumes, the conversion shows, the model appears', async () => {
    await closeModels();
    // The earlier install's "is installed" message would otherwise stand in this test's screenshots.
    await page().getByRole('button', { name: 'Dismiss message' }).click();
    route = '/x-umx.h5';
    await offer()
      .getByRole('button', { name: /^Install/ })
      .click();
    const bar = offer().getByRole('progressbar', { name: 'Download progress' });
    await page().waitForFunction(downloadPercentAbove, 5);
    const first = Number(await bar.getAttribute('aria-valuenow'));
    assert.match(
      (await offer().getByTestId('download-figures').textContent()) ?? '',
      /MB of \d+(\.\d)? MB · [\d.]+ MB\/s · about \d+ (s|min) left/,
    );
    await screenshot(page(), 'models-download-in-progress');
    await offer().getByRole('button', { name: 'Pause' }).click();
    await offer().getByRole('button', { name: 'Resume' }).waitFor();
    assert.match((await offer().getByTestId('download-figures').textContent()) ?? '', /^Paused · /);
    const paused = Number(await bar.getAttribute('aria-valuenow'));
    assert.ok(paused >= first, `paused at ${paused}% after ${first}%`);
    await offer().getByRole('button', { name: 'Resume' }).click();
    await page().waitForFunction(downloadPercentAbove, paused);
    const resumedWith = host.ranges.filter((r) => r.path === '/x-umx.h5').at(-1)?.range;
    assert.match(resumedWith ?? '', /^bytes=[1-9]\d*-$/);
    await offer().getByTestId('install-stage').waitFor({ timeout: 120_000 });
    assert.match(
      (await offer().getByTestId('install-stage').textContent()) ?? '',
      /Converting on this computer, step \d of 4/,
    );
    await screenshot(page(), 'models-converting');
    await offer().waitFor({ state: 'detached', timeout: 300_000 });
    await page()
      .getByRole('status')
      .filter({ hasText: /is installed; new songs are separated with it/ })
      .waitFor();
    await openModels();
    const official = modelCard(OFFICIAL);
    await official.waitFor();
    const text = (await official.textContent()) ?? '';
    for (const part of ['Downloaded', 'Used for new songs', 'float32', 'Published, MUSDB18 test set', 'Apache-2.0']) {
      assert.ok(text.includes(part), `the installed model's card says "${part}": ${text}`);
    }
    assert.ok(!((await modelCard('xumx-studio-small').textContent()) ?? '').includes('Used for new songs'));
    await screenshot(page(), 'models-view');
    await closeModels();
  });

  test('separates a song with the installed model', async () => {
    const song = join(s.dir, 'Model Song.wav');
    await makeSong(song, { seconds: 3, sampleRate: 44100, channels: 2, seed: 11 });
    await page().getByTestId('file-input').first().setInputFiles(song);
    await page().locator('[data-testid=queue-item][data-state=done]').waitFor({ timeout: 300_000 });
    const [job] = await s.service.listJobs();
    assert.equal(job.result?.modelId, OFFICIAL);
    assert.ok(existsSync(job.result!.stemPaths.vocals));
  });

  test('removes the model after a confirmation; the song keeps its stems and new songs use the bundled model', async () => {
    const [job] = await s.service.listJobs();
    await removeOfficial();
    await modelCard('xumx-studio-small').getByTestId('default-model').waitFor();
    for (const path of Object.values(job.result!.stemPaths)) assert.ok(existsSync(path), `${path} is still there`);
  });

  test('refuses an imported file that is not a model, chosen or dropped, with the reason', async () => {
    await openModels();
    await modelsView().getByTestId('model-file-input').setInputFiles(join(s.dir, 'small.h5'));
    const refused = modelsView().getByTestId('import-refused');
    await refused.waitFor({ timeout: 120_000 });
    assert.match(
      (await refused.textContent()) ?? '',
      /small\.h5 was not imported.*has shape \(2974, 16\), expected \(2974, 512\)/s,
    );
    assert.doesNotMatch((await refused.textContent()) ?? '', /uploads/);

    const dataTransfer = await page().evaluateHandle(() => {
      type PageGlobals = {
        DataTransfer: new () => { items: { add(f: unknown): void } };
        File: new (parts: string[], name: string) => unknown;
      };
      const g = globalThis as unknown as PageGlobals;
      const dt = new g.DataTransfer();
      dt.items.add(new g.File(['not a model at all'], 'notes.zip'));
      return dt;
    });
    await modelsView().getByTestId('models-view').dispatchEvent('drop', { dataTransfer });
    await refused.filter({ hasText: 'notes.zip was not imported' }).waitFor();
    assert.match((await refused.textContent()) ?? '', /not a model/);
    assert.deepEqual(installed(), []);
    await closeModels();
  });

  test('closes the first-run offer for good: it stays away after a reload', async () => {
    await offer()
      .getByRole('button', { name: /^Not now/ })
      .click();
    await offer().waitFor({ state: 'detached' });
    assert.equal((await s.service.getSettings()).modelOfferDismissed, true);
    await page().reload();
    // Once the Models view lists the models, the page knows everything the offer depends on.
    await openModels();
    await modelCard('xumx-studio-small').waitFor();
    await closeModels();
    assert.equal(await offer().count(), 0);
  });
});
