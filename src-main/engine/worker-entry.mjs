// Worker bootstrap for running the engine from TypeScript sources: loads worker.ts through tsx's loader.
// A compiled build starts worker.js directly and never uses this file.
import { tsImport } from 'tsx/esm/api';

await tsImport('./worker.ts', import.meta.url);
