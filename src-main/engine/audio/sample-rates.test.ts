import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { storableRate, supportedSampleRatesText } from './sample-rates.ts';
import { MP3_SAMPLE_RATES } from './sample-encoders.ts';
import { AAC_SAMPLE_RATES } from './adts-frames.ts';

test('the README gives the supported sample rates the decoder checks', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8').replace(/\s+/g, ' ');
  assert.ok(
    readme.includes(`Sample rates from ${supportedSampleRatesText()}`),
    `README does not say "Sample rates from ${supportedSampleRatesText()}"`,
  );
});

test('a rate a codec cannot store becomes the next one up to 48 kHz, and 44.1 or 48 kHz above that', () => {
  const mp3: [number, number][] = [
    [44100, 44100],
    [8000, 8000],
    [11500, 12000],
    [30000, 32000],
    [46000, 48000],
    [64000, 48000],
    [88200, 44100],
    [96000, 48000],
    [176400, 44100],
    [384000, 48000],
  ];
  for (const [rate, want] of mp3) assert.equal(storableRate(rate, MP3_SAMPLE_RATES), want, `MP3 at ${rate} Hz`);
  const aac: [number, number][] = [
    [96000, 96000],
    [7350, 7350],
    [11500, 12000],
    [192000, 48000],
    [352800, 44100],
  ];
  for (const [rate, want] of aac) assert.equal(storableRate(rate, AAC_SAMPLE_RATES), want, `AAC at ${rate} Hz`);
});
