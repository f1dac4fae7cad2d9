import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobView } from '../../src-main/api/contract.ts';
import {
  actionsFor,
  applyEvent,
  counts,
  emptyQueue,
  formatEta,
  fromJobs,
  playable,
  select,
  skipReason,
  statusText,
} from './queue.ts';

const job = (id: string, state: JobView['state'], extra: Partial<JobView> = {}): JobView => ({
  id,
  input: `/m/${id}.wav`,
  name: `${id}.wav`,
  state,
  progress: null,
  result: null,
  error: null,
  ...extra,
});
const listen = (readyFrames: number) => ({
  revision: 0,
  sampleRate: 44100,
  frames: 441000,
  readyFrames,
  sources: ['vocals', 'drums'],
});
const result = {
  sources: ['vocals', 'drums'],
  stemPaths: {},
  sampleRate: 44100,
  duration: 3,
  modelId: 'm',
  ep: 'cpu' as const,
  epSkipped: [],
  epTimings: [],
  timings: { decode: 0, stft: 0, network: 0, wiener: 0, istft: 0, encode: 0 },
  notices: [],
};

describe('queue reducer', () => {
  test('keeps songs in the order they were opened and updates them in place', () => {
    let s = applyEvent(emptyQueue, { type: 'job', job: job('a', 'queued') });
    s = applyEvent(s, { type: 'job', job: job('b', 'queued') });
    s = applyEvent(s, { type: 'job', job: job('a', 'running') });
    assert.deepEqual(s.order, ['a', 'b']);
    assert.equal(s.jobs.a.state, 'running');
  });

  test('opens the first finished song in the editor and leaves a chosen finished song alone', () => {
    let s = fromJobs([job('a', 'running'), job('b', 'queued')]);
    assert.equal(s.selectedId, null);
    s = applyEvent(s, { type: 'job', job: job('a', 'done', { result }) });
    assert.equal(s.selectedId, 'a');
    s = applyEvent(s, { type: 'job', job: job('b', 'done', { result }) });
    assert.equal(s.selectedId, 'a');
    assert.equal(select(s, 'b').selectedId, 'b');
    assert.equal(select(s, 'zzz').selectedId, 'a');
  });

  test('opens a song in the editor as soon as its listening copy is begun, before its first seconds are final', () => {
    let s = fromJobs([job('a', 'running'), job('b', 'running')]);
    assert.equal(s.selectedId, null, 'no listening copy yet');
    s = applyEvent(s, { type: 'job', job: job('a', 'running', { listen: listen(0) }) });
    assert.equal(s.selectedId, 'a', 'the editor gets ready to play while the first seconds are separated');
    assert.equal(playable(s.jobs.a), false);
    s = applyEvent(s, { type: 'job', job: job('a', 'running', { listen: listen(4096) }) });
    assert.equal(playable(s.jobs.a), true);
    s = applyEvent(s, { type: 'job', job: job('b', 'done', { result }) });
    assert.equal(s.selectedId, 'a', 'the song being listened to stays');
  });

  test('moves the selection to another finished song when the shown one is removed', () => {
    let s = fromJobs([job('a', 'done', { result }), job('b', 'failed'), job('c', 'done', { result })]);
    s = applyEvent(s, { type: 'job-removed', jobId: 'a' });
    assert.deepEqual(s.order, ['b', 'c']);
    assert.equal(s.selectedId, 'c');
  });

  test('counts songs per state', () => {
    const s = fromJobs([job('a', 'done', { result }), job('b', 'failed'), job('c', 'queued'), job('d', 'queued')]);
    assert.deepEqual(counts(s), { queued: 2, running: 0, done: 1, failed: 1, cancelled: 0 });
  });
});

describe('job states', () => {
  test('allow cancel only while waiting or running and retry only after failure or cancel', () => {
    assert.deepEqual(actionsFor(job('a', 'running')), { cancel: true, retry: false, remove: false, open: false });
    assert.equal(actionsFor(job('a', 'queued')).cancel, true);
    assert.equal(actionsFor(job('a', 'failed')).retry, true);
    assert.equal(actionsFor(job('a', 'cancelled')).retry, true);
    assert.equal(actionsFor(job('a', 'done')).retry, false);
    assert.equal(actionsFor(job('a', 'done')).open, true);
  });

  test('let a running song be opened again once its listening copy is begun, as it first opened by itself', () => {
    // The user looked at another song meanwhile: the one still separating can be listened to again.
    assert.equal(actionsFor(job('a', 'running', { listen: listen(0) })).open, true);
    assert.equal(actionsFor(job('a', 'running', { listen: listen(4096) })).open, true);
    assert.equal(actionsFor(job('a', 'queued')).open, false);
    assert.equal(actionsFor(job('a', 'failed')).open, false);
  });

  test('describe progress with stage, percent and time left', () => {
    const running = job('a', 'running', { progress: { fraction: 0.423, stage: 'network', etaSeconds: 12.2 } });
    assert.equal(statusText(running), 'Separating · 42 % · 13 s left');
    assert.equal(
      statusText(job('a', 'failed', { error: { code: 'NOT_AUDIO', message: 'x.txt: not an audio file' } })),
      'x.txt: not an audio file',
    );
    assert.equal(statusText(job('a', 'done', { result })), '2 stems · CPU');
    const failed = job('n', 'failed', {
      input: '/tmp/up/123/notes.wav',
      name: 'notes.wav',
      error: { code: 'NOT_AUDIO', message: '/tmp/up/123/notes.wav: this is not an audio file' },
    });
    assert.equal(statusText(failed), 'notes.wav: this is not an audio file');
  });

  test('shows why a provider was skipped without repeating its name', () => {
    assert.equal(skipReason({ ep: 'cuda', reason: 'cuda: no CUDA device' }), 'no CUDA device');
    assert.equal(skipReason({ ep: 'webgpu', reason: 'driver missing' }), 'driver missing');
  });

  test('formats time left', () => {
    assert.equal(formatEta(0.4), 'almost done');
    assert.equal(formatEta(59.2), '60 s left');
    assert.equal(formatEta(125), '2 min 05 s left');
    assert.equal(formatEta(NaN), '');
  });
});
