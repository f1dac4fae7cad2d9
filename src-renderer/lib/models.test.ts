import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelInfo, ModelInstallView, ModelsView, Settings } from '../../src-main/api/contract.ts';
import {
  applyInstall,
  canResume,
  conversionStep,
  downloadFraction,
  downloadSize,
  downloadSummary,
  firstRunOffer,
  formatBytes,
  formatTimeLeft,
  installAdvice,
  qualityLine,
} from './models.ts';

const settings: Settings = {
  modelId: null,
  ep: 'auto',
  outputFolder: '/music',
  format: 'wav',
  bitDepth: 24,
  wienerIterations: 1,
  modelOfferDismissed: false,
};

function model(id: string, origin: ModelInfo['origin']): ModelInfo {
  return {
    id,
    name: id,
    architecture: 'xumx',
    sources: ['vocals'],
    sampleRate: 44100,
    license: 'MIT',
    provenance: '',
    dir: `/m/${id}`,
    bundled: origin === 'bundled',
    origin,
    sizeOnDisk: 1,
    precision: 'float32',
    quality: [],
  };
}

function install(patch: Partial<ModelInstallView> = {}): ModelInstallView {
  return {
    modelId: 'xumx-official',
    name: 'X-UMX',
    state: 'running',
    stage: 'download',
    received: 0,
    total: null,
    bytesPerSecond: null,
    secondsLeft: null,
    error: null,
    ...patch,
  };
}

const official = {
  modelId: 'xumx-official',
  name: 'X-UMX',
  license: 'Apache-2.0',
  downloadBytes: 136e6,
  downloadSizeKnown: false,
  diskBytesNeeded: 290e6,
  installed: false,
};
const view = (models: ModelInfo[], patch: Partial<ModelsView> = {}): ModelsView => ({
  models,
  defaultModelId: models[0]?.id ?? null,
  installable: [official],
  installs: [],
  ...patch,
});

describe('download figures', () => {
  test('gives sizes in decimal units with at most one decimal', () => {
    assert.equal(formatBytes(512), '512 B');
    assert.equal(formatBytes(23_108_338), '23.1 MB');
    assert.equal(formatBytes(136_000_000), '136 MB');
    assert.equal(formatBytes(1_400_000_000), '1.4 GB');
  });

  test('says "about" before a download size that is an estimate, not the published size', () => {
    assert.equal(downloadSize(official), 'about 136 MB');
    assert.equal(downloadSize({ ...official, downloadSizeKnown: true }), '136 MB');
  });

  test('says bytes received of the total, the speed and the time left', () => {
    assert.equal(
      downloadSummary(install({ received: 12_300_000, total: 136e6, bytesPerSecond: 5_200_000, secondsLeft: 23.8 })),
      '12.3 MB of 136 MB · 5.2 MB/s · about 24 s left',
    );
    assert.equal(downloadSummary(install({ received: 2_000_000 })), '2 MB received');
    assert.equal(formatTimeLeft(3900), 'about 1 h 5 min left');
  });

  test('has no fraction while the size is unknown', () => {
    assert.equal(downloadFraction(install({ received: 10 })), null);
    assert.equal(downloadFraction(install({ received: 25, total: 100 })), 0.25);
  });

  test('numbers the conversion steps after the download', () => {
    assert.equal(conversionStep('download'), null);
    assert.deepEqual(conversionStep('read'), { step: 2, of: 4, label: 'Reading the weights' });
    assert.deepEqual(conversionStep('write'), { step: 4, of: 4, label: 'Writing the model' });
  });
});

describe('install failures', () => {
  test('resumes after a lost connection or a full disk, not after a refused or corrupt file', () => {
    assert.equal(canResume({ code: 'NO_NETWORK', message: 'x' }), true);
    assert.equal(canResume({ code: 'DISK_FULL', message: 'x' }), true);
    assert.equal(
      canResume({ code: 'DOWNLOAD_FAILED', message: 'the download stopped after 5 of 9 bytes; run again to resume' }),
      true,
    );
    assert.equal(canResume({ code: 'DOWNLOAD_FAILED', message: 'http://h/x.h5: HTTP 404 Not Found' }), false);
    assert.equal(canResume({ code: 'DOWNLOAD_CORRUPT', message: 'x' }), false);
    assert.equal(canResume({ code: 'CONVERT_FAILED', message: 'x' }), false);
  });

  test('tells what to do for each error code', () => {
    assert.match(installAdvice({ code: 'NO_NETWORK', message: '' }), /internet connection.*Resume/);
    assert.match(installAdvice({ code: 'DISK_FULL', message: '' }), /Free some space/);
    assert.match(installAdvice({ code: 'DOWNLOAD_CORRUPT', message: '' }), /removed.*Try again/);
    assert.match(installAdvice({ code: 'DOWNLOAD_FAILED', message: 'HTTP 404 Not Found' }), /address may have moved/);
    assert.match(installAdvice({ code: 'CONVERT_FAILED', message: '' }), /Nothing was installed/);
  });
});

describe('the first-run offer', () => {
  test('is made while only bundled models are installed', () => {
    assert.equal(firstRunOffer(view([model('small', 'bundled')]), settings)?.modelId, 'xumx-official');
  });

  test('stays while its install runs, to show the progress', () => {
    assert.equal(
      firstRunOffer(view([model('small', 'bundled')], { installs: [install()] }), settings)?.modelId,
      'xumx-official',
    );
  });

  test('stays quiet once dismissed, once installed, or beside a model of the user', () => {
    assert.equal(firstRunOffer(view([model('small', 'bundled')]), { ...settings, modelOfferDismissed: true }), null);
    assert.equal(
      firstRunOffer(view([model('small', 'bundled')], { installable: [{ ...official, installed: true }] }), settings),
      null,
    );
    assert.equal(firstRunOffer(view([model('small', 'bundled'), model('mine', 'imported')]), settings), null);
  });
});

describe('install list', () => {
  test('keeps a paused or failed install and drops a finished or cancelled one', () => {
    const paused = applyInstall([install()], install({ state: 'paused', received: 9 }));
    assert.deepEqual(
      paused.map((i) => [i.state, i.received]),
      [['paused', 9]],
    );
    assert.deepEqual(applyInstall(paused, install({ state: 'done' })), []);
    assert.deepEqual(applyInstall(paused, install({ state: 'cancelled' })), []);
  });

  test('writes a published score with its set and measure', () => {
    assert.equal(
      qualityLine({
        kind: 'published',
        set: 'MUSDB18 test set',
        measure: 'median SDR',
        sdr: { vocals: 6.61, bass: 5.4 },
      }),
      'Published, MUSDB18 test set (median SDR): vocals 6.61 dB, bass 5.40 dB',
    );
  });
});
