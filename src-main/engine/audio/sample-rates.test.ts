import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { supportedSampleRatesText } from './sample-rates.ts';

test('the README gives the supported sample rates the decoder checks', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
  assert.ok(readme.includes(`Sample rates from ${supportedSampleRatesText()}`), `README does not say "Sample rates from ${supportedSampleRatesText()}"`);
});
