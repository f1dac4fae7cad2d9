// `npm start -- --web`: runs X-UMX Studio in the browser. Serves the built renderer and the API on 127.0.0.1 and
// prints the link (with its one-run token) to open.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createStudio, type StudioOptions } from '../api/create-studio.ts';
import type { StudioService } from '../api/service.ts';
import { defaultModelDirs } from '../engine/index.ts';
import { startWebServer, type WebServer } from './server.ts';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const USAGE = `Usage: npm start -- --web [--port N] [--models DIR]... [--data DIR] [--out DIR] [songs...]

Serves X-UMX Studio on http://127.0.0.1 and prints the link to open. Songs named on the command line are
queued at once.
  --port N      port to listen on (default: a free one)
  --models DIR  extra folder of models (repeatable); default: bundled models/ and your models folder
  --data DIR    settings and uploads folder (default: your xumx-studio data folder); one app at a time uses it
  --out DIR     default folder for stems
`;

export interface BrowserModeOptions extends Pick<
  StudioOptions,
  'dataDir' | 'modelDirs' | 'outputFolder' | 'userModelsDir'
> {
  /** Built renderer (vite output). */
  rendererDir: string;
  /** 0 picks a free port. */
  port: number;
}

/** The app behind the server; `close` stops both. */
export async function startBrowserMode(opts: BrowserModeOptions): Promise<{
  service: StudioService;
  server: WebServer;
  notice: string | null;
  close(): Promise<void>;
}> {
  const { rendererDir, port, ...studio } = opts;
  const { service, uploadDir, notice } = await createStudio({
    capabilities: { door: 'web', nativeDialogs: false, reveal: false, upload: true },
    otherDataFolder: '--data DIR',
    ...studio,
  });
  let server: WebServer;
  try {
    server = await startWebServer({ service, rendererDir, uploadDir, port });
  } catch (e) {
    await service.dispose();
    throw e;
  }
  const close = async () => {
    await server.close();
    await service.dispose();
  };
  return { service, server, notice, close };
}

export async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      web: { type: 'boolean' },
      port: { type: 'string' },
      models: { type: 'string', multiple: true },
      data: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--port must be a number from 0 to 65535, not "${values.port}"`);
  const rendererDir = join(repoRoot, 'dist', 'renderer');
  if (!existsSync(join(rendererDir, 'index.html'))) {
    throw new Error(`the user interface is not built (${rendererDir} is missing); run "npm run build:renderer"`);
  }
  const { service, server, notice, close } = await startBrowserMode({
    rendererDir,
    port,
    dataDir: values.data,
    modelDirs: values.models ? [...values.models, ...defaultModelDirs()] : undefined,
    outputFolder: values.out,
  });
  if (notice) console.warn(notice);
  // Songs named on the command line open before any page is there to show what went wrong beside them.
  service.onEvent((e) => {
    if (e.type === 'notice') console.warn(e.message);
  });
  if (positionals.length) {
    // A song that cannot be opened stops this start; the data folder is given back first.
    await service.open(positionals).catch(async (e: unknown) => {
      await close();
      throw e;
    });
  }
  console.log(
    `X-UMX Studio is running in browser mode. Open this link (it contains this run's access token):\n\n  ${server.url}\n\nPress Ctrl+C to stop.`,
  );
  const stop = async () => {
    await close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`xumx-studio: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  });
}
