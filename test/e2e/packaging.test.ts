// electron-builder.yml must unpack every native file of onnxruntime-node from the asar (native libraries cannot
// load from inside an archive), ship the models beside the app and include the built main process.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const require = createRequire(import.meta.url);
// The same YAML reader and glob matcher electron-builder itself uses.
const yaml = require('js-yaml') as { load(text: string): unknown };
const { minimatch } = require('minimatch') as { minimatch(path: string, pattern: string, opts?: object): boolean };

interface BuilderConfig {
  files: string[];
  asarUnpack: string[];
  extraResources: { from: string; to: string }[];
  linux: { target: string[] };
  win: { target: string[] };
  mac: { target: string[] };
}

const config = yaml.load(readFileSync(join(root, 'electron-builder.yml'), 'utf8')) as BuilderConfig;
const ortBin = join(root, 'node_modules', 'onnxruntime-node', 'bin');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [relative(root, p).split('\\').join('/')];
  });
}

const isNative = (p: string) => /\.(node|dll|dylib)$/.test(p) || /\.so(\.\d+)*$/.test(p);
const unpacked = (p: string) => config.asarUnpack.some((pattern) => minimatch(p, pattern, { dot: true }));

describe('electron-builder.yml', () => {
  test(
    'unpacks every native file of onnxruntime-node',
    { skip: existsSync(ortBin) ? false : 'onnxruntime-node is not installed' },
    () => {
      const natives = filesUnder(ortBin).filter(isNative);
      assert.ok(
        natives.some((p) => p.endsWith('onnxruntime_binding.node')),
        'the N-API binding is among the files',
      );
      const missed = natives.filter((p) => !unpacked(p));
      assert.deepEqual(missed, [], 'native files left inside the asar');
    },
  );

  test(
    'every unpack pattern matches a real file, so none is a typo',
    { skip: existsSync(ortBin) ? false : 'onnxruntime-node is not installed' },
    () => {
      const files = filesUnder(ortBin);
      for (const pattern of config.asarUnpack) {
        assert.ok(
          files.some((f) => minimatch(f, pattern, { dot: true })),
          `${pattern} matches nothing in node_modules/onnxruntime-node/bin`,
        );
      }
    },
  );

  test('also unpacks the CUDA provider libraries a Linux user may add later', () => {
    assert.ok(unpacked('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so'));
    assert.ok(unpacked('node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_shared.so'));
  });

  test('leaves JavaScript inside the asar', () => {
    assert.equal(unpacked('node_modules/onnxruntime-node/dist/index.js'), false);
  });

  test('ships models/ as extra resources and the built main process in the app', () => {
    assert.ok(config.extraResources.some((r) => r.from === 'models' && r.to === 'models'));
    const main = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).main as string;
    assert.ok(
      config.files.some((f) => minimatch(main, f)),
      `package.json main (${main}) is in files`,
    );
    assert.ok(config.files.some((f) => minimatch('dist/renderer/index.html', f)));
  });

  test('targets AppImage and deb, NSIS and dmg', () => {
    assert.deepEqual(config.linux.target, ['AppImage', 'deb']);
    assert.deepEqual(config.win.target, ['nsis']);
    assert.deepEqual(config.mac.target, ['dmg']);
  });
});
