// Stand-ins for a separation model and a song, so the pipeline's file handling can be tested without ONNX.
import { floatWavFile } from '../../../../test/fixtures/float-wav.ts';
import type { ModelManifest } from '../../model/manifest.ts';
import type { ModelRunner } from '../../model/session.ts';

const BINS = 2049;

export function fakeManifest(sources: string[]): ModelManifest {
  return {
    id: 'fake',
    name: 'fake',
    architecture: 'test',
    sources,
    sampleRate: 44100,
    nFft: 4096,
    hop: 1024,
    file: 'x.onnx',
    sha256: '0'.repeat(64),
    size: 1,
    license: 'MIT',
    provenance: 'test',
    metrics: {},
    testOnly: true,
  };
}

/** A "network" that gives source j the mixture magnitude times gains[j](bin): no learning, exact and fast. */
export function fakeModel(
  sources: string[],
  gain: (source: number, bin: number) => number,
  onRun?: () => void | Promise<void>,
): ModelRunner {
  return {
    manifest: fakeManifest(sources),
    ep: 'cpu',
    epSkipped: [],
    epTimings: [],
    async run(input, batch, frames) {
      await onRun?.();
      const plane = BINS * frames;
      const out = new Float32Array(sources.length * batch * 2 * plane);
      for (let j = 0; j < sources.length; j++) {
        for (let i = 0; i < batch * 2 * plane; i++)
          out[j * batch * 2 * plane + i] = input[i] * gain(j, Math.floor((i % plane) / frames));
      }
      return out;
    },
    async dispose() {},
    busySeconds: () => null,
  };
}

/** Two channels of sines and seeded noise, far below 22 kHz. */
export function testSignal(length: number, seed = 1, noiseLevel = 0.05): Float32Array[] {
  const l = new Float32Array(length),
    r = new Float32Array(length);
  let s = seed;
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    const noise = (s / 2 ** 32 - 0.5) * noiseLevel;
    l[i] = 0.4 * Math.sin(i * 0.0313) + 0.2 * Math.sin(i * 0.171) + noise;
    r[i] = 0.3 * Math.sin(i * 0.0491 + 1) + noise;
  }
  return [l, r];
}

/** A stereo 32-bit float WAV holding `left` and `right` as they are, overs included. */
export function floatWav(path: string, [left, right]: Float32Array[], rate: number): string {
  return floatWavFile(path, [left, right], rate);
}
