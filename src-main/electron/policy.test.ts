import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CONTENT_SECURITY_POLICY,
  isAllowedNavigation,
  isTrustedSender,
  routeAppRequest,
  songArguments,
  windowWebPreferences,
} from './policy.ts';

describe('Electron window security', () => {
  test('isolates and sandboxes the renderer without Node', () => {
    const p = windowWebPreferences('/app/preload.cjs');
    assert.equal(p.contextIsolation, true);
    assert.equal(p.sandbox, true);
    assert.equal(p.nodeIntegration, false);
    assert.equal(p.nodeIntegrationInWorker, false);
    assert.equal(p.webSecurity, true);
    assert.equal(p.webviewTag, false);
    assert.equal(p.navigateOnDragDrop, false);
  });

  test('allows only its own scripts and no remote content', () => {
    assert.match(CONTENT_SECURITY_POLICY, /default-src 'none'/);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /'unsafe-eval'|https?:|\*/);
  });

  test('lets the player compile its WebAssembly time stretcher, and nothing else be evaluated', () => {
    const scriptSrc = CONTENT_SECURITY_POLICY.split('; ').find((d) => d.startsWith('script-src '));
    assert.deepEqual(scriptSrc?.split(' ').slice(1), ["'self'", "'wasm-unsafe-eval'"]);
  });

  test('refuses navigation away from the app page', () => {
    assert.equal(isAllowedNavigation('xumx://app/index.html'), true);
    for (const url of [
      'https://example.com/',
      'file:///etc/passwd',
      'xumx://evil/index.html',
      'javascript:alert(1)',
      'not a url',
    ]) {
      assert.equal(isAllowedNavigation(url), false, url);
    }
  });

  test('answers IPC only from the app page in the top frame', () => {
    assert.equal(isTrustedSender('xumx://app/index.html', true), true);
    assert.equal(isTrustedSender('xumx://app/index.html', false), false);
    assert.equal(isTrustedSender('https://example.com/', true), false);
    assert.equal(isTrustedSender(undefined, true), false);
  });
});

describe('app scheme routing', () => {
  test("maps a block of a listening copy to the job, the revision and the query's numbers as given (the service checks them)", () => {
    assert.deepEqual(routeAppRequest('xumx://app/api/listen/abc123/2?from=44100&frames=132300'), {
      kind: 'listen',
      jobId: 'abc123',
      revision: '2',
      from: '44100',
      frames: '132300',
    });
    assert.deepEqual(routeAppRequest('xumx://app/api/listen/abc123/0'), {
      kind: 'listen',
      jobId: 'abc123',
      revision: '0',
      from: null,
      frames: null,
    });
  });

  test('maps stems to job and source, previews to job, id and source, and pages to renderer files', () => {
    assert.deepEqual(routeAppRequest('xumx://app/api/stems/abc123/vocals'), {
      kind: 'stem',
      jobId: 'abc123',
      source: 'vocals',
    });
    assert.deepEqual(routeAppRequest('xumx://app/api/previews/abc123/p-1_x/vocals'), {
      kind: 'preview',
      jobId: 'abc123',
      id: 'p-1_x',
      source: 'vocals',
    });
    assert.deepEqual(routeAppRequest('xumx://app/api/previews/abc123/p-1_x'), {
      kind: 'preview',
      jobId: 'abc123',
      id: 'p-1_x',
      source: null,
    });
    assert.deepEqual(routeAppRequest('xumx://app/'), { kind: 'static', path: 'index.html' });
    assert.deepEqual(routeAppRequest('xumx://app/assets/index-1.js'), { kind: 'static', path: 'assets/index-1.js' });
  });

  test('refuses paths that climb out of the renderer folder and other hosts', () => {
    // Encoded dot segments are resolved by URL parsing, so they stay inside the renderer folder.
    assert.deepEqual(routeAppRequest('xumx://app/%2e%2e/%2e%2e/etc/passwd'), { kind: 'static', path: 'etc/passwd' });
    assert.deepEqual(routeAppRequest('xumx://app/assets/..%2f..%2fsecret'), { kind: 'refused' });
    assert.deepEqual(routeAppRequest('xumx://other/index.html'), { kind: 'refused' });
  });
});

describe('songArguments', () => {
  test('keeps file arguments and drops flags and the app entry', () => {
    assert.deepEqual(songArguments(['/app/main.js', '--no-sandbox', '/music/a.wav', 'b.flac', '.']), [
      '/music/a.wav',
      'b.flac',
    ]);
  });
});

describe('app scheme requests with malformed percent-encoding', () => {
  test('are answered as bad requests instead of throwing', () => {
    for (const url of [
      'xumx://app/api/stems/%E0%A4%A/vocals',
      'xumx://app/api/stems/abc123/voc%E0%A4als',
      'xumx://app/assets/%E0%A4%A.js',
      'xumx://app/api/previews/abc123/%E0%A4%A/vocals',
      'xumx://app/api/previews/abc123/p1/voc%E0%A4als',
    ]) {
      const route = routeAppRequest(url);
      assert.equal(route.kind, 'bad-request', url);
      if (route.kind === 'bad-request') assert.match(route.message, /percent-encoding/, url);
    }
  });
});
