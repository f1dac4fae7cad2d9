// Lint rules for the TypeScript (app, tests, benches, scripts). Formatting is Prettier's (.prettierrc.json); these
// rules catch what a formatter cannot: import cycles, doors reaching past the engine's public modules, dead code.
// Run by `npm run lint` and by `npm test` before the suites.
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'out/**',
      'test-output/**',
      'src-main/engine/dsp/kernels/assembly/**',
      'training/**',
      '.scratch/**',
    ],
  },
  {
    files: ['**/*.ts', '**/*.mjs', '**/*.js'],
    extends: [tseslint.configs.base],
    plugins: { 'import-x': importX },
    settings: { 'import-x/extensions': ['.ts', '.mjs', '.js'] },
    rules: {
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { args: 'none', caughtErrors: 'none', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Prettier wraps code at 120; comments it leaves alone may reach 140.
      'max-len': [
        'error',
        {
          code: 120,
          comments: 140,
          ignoreUrls: true,
          ignoreStrings: true,
          ignoreTemplateLiterals: true,
          ignoreRegExpLiterals: true,
        },
      ],
    },
  },
  {
    // The doors reach the engine through its public module only, so what they depend on is one file to read.
    files: ['src-main/api/**/*.ts', 'src-main/cli/**/*.ts', 'src-main/electron/**/*.ts', 'src-main/web/**/*.ts'],
    ignores: ['**/*.test.ts', '**/testing/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+engine/(?!index\\.ts$|types\\.ts$)',
              message:
                'doors import the engine from engine/index.ts (types also from engine/types.ts), not the modules behind it',
            },
          ],
        },
      ],
    },
  },
);
