// `npm start`: without an Electron binary it says so and starts browser mode; `--web` forces browser mode.
// Either way it prints a 127.0.0.1 link with the token, and that link opens the app.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain ESM helper without type declarations
import { findElectronBinary } from '../../scripts/electron-binary.mjs';

const root = new URL('../../', import.meta.url).pathname;
const electronMissing = !(findElectronBinary() as { path: string | null }).path;

async function startAndOpen(args: string[]): Promise<{ output: string; status: number; page: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'xumx-start-'));
  const child = spawn(
    process.execPath,
    [join(root, 'scripts', 'start.mjs'), ...args, '--data', join(dir, 'data'), '--out', join(dir, 'stems')],
    {
      cwd: root,
      env: { ...process.env, XUMX_STUDIO_MODELS: join(dir, 'models') },
    },
  );
  let output = '';
  try {
    const url = await new Promise<string>((ok, fail) => {
      const timer = setTimeout(() => fail(new Error(`no link printed within 120 s:\n${output}`)), 120_000);
      const read = (b: Buffer) => {
        output += b.toString();
        const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.exec(output);
        if (m) {
          clearTimeout(timer);
          ok(m[0]);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      child.on('exit', (code) => fail(new Error(`start exited with ${code}:\n${output}`)));
    });
    // Like a browser: follow the redirect that swaps the token for a cookie, sending the cookie back.
    const first = await fetch(url, { redirect: 'manual' });
    const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0];
    const res = await fetch(new URL(first.headers.get('location') ?? '/', url), { headers: { cookie } });
    return { output, status: res.status, page: await res.text() };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('npm start', { timeout: 300_000 }, () => {
  test(
    'says the Electron binary is missing and starts browser mode instead',
    { skip: electronMissing ? false : 'the Electron binary is installed here' },
    async () => {
      const r = await startAndOpen([]);
      assert.match(r.output, /Electron binary not installed/);
      assert.match(r.output, /browser mode/);
      assert.equal(r.status, 200);
      assert.match(r.page, /<title>X-UMX Studio<\/title>/);
    },
  );

  test('--web starts browser mode and its printed link opens the app', async () => {
    const r = await startAndOpen(['--web']);
    assert.doesNotMatch(r.output, /Electron binary not installed/);
    assert.equal(r.status, 200);
    assert.match(r.page, /<title>X-UMX Studio<\/title>/);
  });
});
