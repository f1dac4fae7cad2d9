// Every case of the bad-input corpus (test/fixtures/bad-inputs.ts) must fail with its own code and a
// message that names the file — never a stack trace, never audio made of garbage.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { badInputs } from '../../../test/fixtures/bad-inputs.ts';
import { hasFfmpeg, tempDir } from '../../../test/fixtures/audio.ts';
import { XumxError } from '../errors.ts';
import { decodeFile } from './decode.ts';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const decodeModule = fileURLToPath(new URL('./decode.ts', import.meta.url));

/** Root reads every file whatever its mode, so permission cases run in a child process as `nobody`. */
function decodeAsNobody(path: string): { code?: string; message?: string } {
  const script =
    `import(${JSON.stringify(decodeModule)}).then((m) => m.decodeFile(${JSON.stringify(path)}))` +
    `.then(() => console.log('{}'), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })))`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], {
    uid: NOBODY,
    gid: NOBODY,
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('../../..', import.meta.url)),
    env: { ...process.env, HOME: '/tmp' },
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  assert.ok(line.startsWith('{'), `child decode failed to run: ${r.stderr}`);
  return JSON.parse(line);
}

describe('decodeFile on the bad-input corpus', () => {
  let dir = '';
  before(() => {
    dir = tempDir('xumx-bad-');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('the corpus holds at least 22 cases with distinct names', () => {
    assert.ok(badInputs.length >= 22);
    assert.equal(new Set(badInputs.map((c) => c.name)).size, badInputs.length);
  });

  for (const c of badInputs) {
    test(`${c.name} → ${c.expectCode}`, { skip: !hasFfmpeg() && 'ffmpeg is not installed' }, async () => {
      const caseDir = tempDir('xumx-bad-case-');
      try {
        const path = await c.make(caseDir);
        let got: { code?: string; message?: string };
        if (c.needsUnprivilegedUser && isRoot) got = decodeAsNobody(path);
        else {
          got = await decodeFile(path).then(
            (a) => assert.fail(`decoded ${a.channels[0]?.length} frames of ${a.format} instead of failing`),
            (e: unknown) => {
              assert.ok(e instanceof XumxError, `threw ${String(e)} instead of an XumxError`);
              assert.equal(e.file, path);
              return { code: e.code, message: e.message };
            },
          );
        }
        assert.equal(got.code, c.expectCode, got.message);
        assert.ok(got.message?.startsWith(`${path}: `), `message does not name the file: ${got.message}`);
        assert.ok(!/\n\s+at /.test(got.message ?? ''), 'message carries a stack trace');
      } finally {
        rmSync(caseDir, { recursive: true, force: true });
      }
    });
  }
});
