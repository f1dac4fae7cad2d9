// Runs the browser-mode server over the fake engine in a process of its own, for tests that must see whether
// something takes the whole server down. Prints {"port", "token"} as one JSON line once it listens.
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StudioService } from '../../api/service.ts';
import { defaultSettings, openSettingsStore } from '../../api/settings-store.ts';
import { FakeEngine, MemoryAudio } from '../../api/testing/fakes.ts';
import { startWebServer } from '../server.ts';

const dir = await mkdtemp(join(tmpdir(), 'xumx-web-child-'));
await mkdir(join(dir, 'renderer'));
await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><title>X-UMX Studio</title>');
const audio = new MemoryAudio();
const settings = await openSettingsStore(join(dir, 'settings.json'), defaultSettings(join(dir, 'stems')));
const service = new StudioService({
  engine: new FakeEngine(audio),
  audio,
  settings,
  capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
});
const server = await startWebServer({ service, rendererDir: join(dir, 'renderer'), uploadDir: join(dir, 'uploads') });
process.stdout.write(`${JSON.stringify({ port: server.port, token: server.token })}\n`);
