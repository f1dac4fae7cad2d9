// Bootstrap of the conversion thread when running from TypeScript sources (tsx); a build starts convert-worker.js.
import { tsImport } from 'tsx/esm/api';

await tsImport('./convert-worker.ts', import.meta.url);
