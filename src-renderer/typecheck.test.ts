// The components are TypeScript too: svelte-check type-checks every .svelte file against the shared contract,
// which the root tsc run cannot see.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = join(root, 'node_modules', 'svelte-check', 'bin', 'svelte-check');

test(
  'the renderer and its Svelte components type-check without errors or warnings',
  { skip: existsSync(bin) ? false : 'svelte-check is not installed', timeout: 300_000 },
  () => {
    const r = spawnSync(
      process.execPath,
      [bin, '--tsconfig', join(root, 'src-renderer', 'tsconfig.json'), '--threshold', 'warning', '--output', 'human'],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  },
);
