#!/usr/bin/env node
// Every linter and format check of the project, one after another; exits non-zero if any fails.
// TypeScript: ESLint (eslint.config.js: import cycles, doors reaching into the engine, unused code, line length) and
// Prettier (.prettierrc.json). Python (training/): flake8 (.flake8) and black (pyproject.toml), Debian's packages;
// without them the Python checks are skipped with a note (.ci/run installs them).
// `--fix` rewrites what the formatters would change instead of failing on it.
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const fix = process.argv.includes('--fix');
const bin = (name) => `${root}node_modules/.bin/${name}`;
const PRETTIER_FILES = [
  'src-main/**/*.ts',
  'src-renderer/**/*.{ts,svelte}',
  'test/**/*.ts',
  'bench/**/*.ts',
  'scripts/*.mjs',
  '*.js',
];

// The formatters first, so that with --fix the linters see the formatted code.
const checks = [
  ['prettier', bin('prettier'), [fix ? '--write' : '--check', '--log-level', 'warn', ...PRETTIER_FILES]],
  ['black', 'black', ['--quiet', ...(fix ? [] : ['--check']), 'training']],
  ['eslint', bin('eslint'), ['.']],
  ['flake8', 'flake8', ['training']],
];

let failed = 0;
for (const [name, cmd, args] of checks) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.error?.code === 'ENOENT') {
    console.log(`[lint] ${name}: not installed, skipped`);
    continue;
  }
  if (r.status !== 0) {
    failed += 1;
    console.log(
      `[lint] ${name} failed${name === 'prettier' || name === 'black' ? ' (npm run lint -- --fix formats)' : ''}`,
    );
  }
}
console.log(failed ? `[lint] ${failed} check(s) failed` : '[lint] all checks passed');
process.exit(failed ? 1 : 0);
