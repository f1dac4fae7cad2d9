// Bootstrap of a DSP worker when the engine runs from TypeScript sources (tsx); a build starts dsp-worker.js.
import { tsImport } from 'tsx/esm/api';

await tsImport('./dsp-worker.ts', import.meta.url);
