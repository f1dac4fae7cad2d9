// Bootstrap of the network thread when the engine runs from TypeScript sources (tsx); a build starts network-worker.js.
import { tsImport } from 'tsx/esm/api';

await tsImport('./network-worker.ts', import.meta.url);
