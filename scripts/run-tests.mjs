#!/usr/bin/env node
// Runs every test suite of the project and prints one combined closing line.
// TypeScript tests: node's test runner over every *.test.ts (tsx loader).
// Python tests: training/ (pytest under Debian's python3 with torch), when that interpreter is present.
import { spawnSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);

function findTests(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) findTests(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

let files = ['src-main', 'src-renderer', 'test'].flatMap((d) => findTests(join(root, d), [])).sort();
if (only.length) files = files.filter((f) => only.some((o) => f.includes(o)));

// The engine loads the kernels npm's `prepare` built and never compiles them itself; a source edited since the
// install is rebuilt here, as a build step, before anything loads it.
const kernels = spawnSync(process.execPath, [join(root, 'scripts', 'build-kernels.mjs')], {
  cwd: root,
  stdio: 'inherit',
});
if (kernels.status !== 0) process.exit(kernels.status ?? 1);

mkdirSync(join(root, 'test-output'), { recursive: true });
// Every suite's temporary files go into one folder of this run, removed at the end: tests that make temporary
// folders and do not remove them (on failure, or a browser profile) otherwise leave them in /tmp run after run.
// Open to every user with the sticky bit, as /tmp is: some tests run the CLI as another user (permission errors).
const scratch = mkdtempSync(join(tmpdir(), 'xumx-tests-'));
chmodSync(scratch, 0o1777);
const env = { ...process.env, NODE_OPTIONS: '', TMPDIR: scratch };
const totals = { passed: 0, failed: 0, skipped: 0 };

// Lint and format checks (scripts/lint.mjs) count as one test, on a full run only.
if (!only.length) {
  const lint = spawnSync(process.execPath, [join(root, 'scripts', 'lint.mjs')], { cwd: root, stdio: 'inherit' });
  if (lint.status === 0) totals.passed += 1;
  else totals.failed += 1;
}
const tap = join(root, 'test-output', `node-tests-${process.pid}.tap`);

if (files.length) {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...files,
    ],
    { cwd: root, stdio: 'inherit', env },
  );
  const text = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k) => Number((text.match(new RegExp(`^# ${k} (\\d+)`, 'm')) ?? [])[1] ?? 0);
  totals.passed += count('pass');
  totals.failed += count('fail') + count('cancelled');
  totals.skipped += count('skipped') + count('todo');
  if (r.status !== 0 && count('fail') + count('cancelled') === 0) totals.failed += 1;
}

const debianPython = '/usr/bin/python3';
const pyTests = join(root, 'training', 'tests');
const runPython = !only.length || only.some((o) => o.startsWith('training'));
if (runPython && existsSync(pyTests)) {
  const probe = spawnSync(debianPython, ['-c', 'import torch, pytest'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    console.log(
      `\n[python] skipped training/tests: ${debianPython} lacks torch or pytest (.ci/run installs python3-torch and python3-pytest)`,
    );
    totals.skipped += 1;
  } else {
    const junit = join(root, 'test-output', `python-tests-${process.pid}.xml`);
    const r = spawnSync(
      debianPython,
      ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', `--junitxml=${junit}`, pyTests],
      { cwd: root, stdio: 'inherit', env },
    );
    const xml = existsSync(junit) ? readFileSync(junit, 'utf8') : '';
    const attr = (k) => Number((xml.match(new RegExp(`<testsuite[^>]* ${k}="(\\d+)"`)) ?? [])[1] ?? 0);
    const tests = attr('tests'),
      failures = attr('failures') + attr('errors'),
      skipped = attr('skipped');
    totals.passed += tests - failures - skipped;
    totals.failed += failures;
    totals.skipped += skipped;
    if (r.status !== 0 && r.status !== 5 && failures === 0) totals.failed += 1;
  }
}

rmSync(scratch, { recursive: true, force: true });
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
