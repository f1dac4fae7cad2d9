import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBrowserMode } from './main.ts';

describe('browser mode on a data folder another app has open', () => {
  test("refuses to start, naming the folder, the other app's process and --data, and leaves that app's uploads", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'xumx-web-main-'));
    const rendererDir = join(dir, 'renderer');
    await mkdir(rendererDir);
    await writeFile(join(rendererDir, 'index.html'), '<!doctype html><title>X-UMX Studio</title>');
    const data = join(dir, 'data');
    const start = () =>
      startBrowserMode({ dataDir: data, rendererDir, modelDirs: [], userModelsDir: join(dir, 'models'), port: 0 });
    const first = await start();
    try {
      const r = await fetch(`http://127.0.0.1:${first.server.port}/api/upload?name=song.wav`, {
        method: 'POST',
        headers: { 'x-xumx-token': first.server.token },
        body: Buffer.from('RIFF queued in the first app'),
      });
      const outcome = (await r.json()) as { ok: boolean; value: { input: string }[] };
      assert.equal(outcome.ok, true);
      const upload = outcome.value[0].input;
      assert.ok(upload.startsWith(join(data, 'uploads')), upload);
      const before = (await readdir(data)).sort();

      await assert.rejects(start(), (e: Error) => {
        assert.ok(e.message.startsWith(`${data}: this data folder is in use by another X-UMX Studio`), e.message);
        assert.match(e.message, new RegExp(`process ${process.pid}\\b`));
        assert.match(e.message, /--data DIR/);
        return true;
      });
      assert.equal(existsSync(upload), true, "the first app's queued song is still there");
      assert.deepEqual((await readdir(data)).sort(), before, 'the refused app changed nothing in the folder');
    } finally {
      await first.close();
    }
    // Once the first app has gone, the next one starts; the uploads of the app before it belong to no song now.
    const next = await start();
    await next.close();
    await rm(dir, { recursive: true, force: true });
  });
});
