// Electron client: every call goes through the preload's single `call` over IPC; dropped files become paths.
import type { JobView, ModelsView } from '../../src-main/api/contract.ts';
import {
  ApiCallError,
  apiOver,
  listenUrl,
  previewUrl,
  stemUrl,
  type PreloadBridge,
  type StudioClient,
} from './client.ts';

export function createIpcClient(bridge: PreloadBridge): StudioClient {
  const call = async (method: string, args: unknown[]) => {
    const r = await bridge.call(method, args);
    if (!r.ok) throw new ApiCallError(r.error.code, r.error.message);
    return r.value;
  };
  const api = apiOver(call);
  return {
    ...api,
    onEvent: (l) => bridge.onEvent(l),
    stemUrl,
    previewUrl,
    listenUrl,
    async chooseFiles() {
      const r = await bridge.chooseFiles();
      if (!r.ok) throw new ApiCallError(r.error.code, r.error.message);
      return r.value as JobView[];
    },
    async chooseModelFile() {
      const r = await bridge.chooseModelFile();
      if (!r.ok) throw new ApiCallError(r.error.code, r.error.message);
      return r.value as ModelsView | null;
    },
    async importModelFile(file) {
      const path = bridge.pathForFile(file);
      if (!path) throw new ApiCallError('BAD_ARGUMENT', `${file.name}: not a file on this computer`);
      return api.importModel(path);
    },
    chooseFolder: (initial) => bridge.chooseFolder(initial),
    async addFiles(files) {
      const paths = files.map((f) => bridge.pathForFile(f)).filter((p) => p.length > 0);
      return paths.length ? api.open(paths) : [];
    },
    reveal: (path) => bridge.reveal(path),
  };
}
