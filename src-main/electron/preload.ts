// The whole surface the sandboxed renderer gets: one `call` into the shared StudioApi, an event subscription, and
// the door-specific file choosers. Everything is validated again in the main process (src-main/api/validate.ts).
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';

contextBridge.exposeInMainWorld('xumx', {
  call: (method: string, args: unknown[]) => ipcRenderer.invoke('xumx:call', method, args),
  onEvent: (listener: (e: unknown) => void) => {
    const handler = (_e: IpcRendererEvent, event: unknown) => listener(event);
    ipcRenderer.on('xumx:event', handler);
    return () => {
      ipcRenderer.removeListener('xumx:event', handler);
    };
  },
  chooseFiles: () => ipcRenderer.invoke('xumx:choose-files'),
  chooseModelFile: () => ipcRenderer.invoke('xumx:choose-model-file'),
  chooseFolder: (initial?: string) =>
    ipcRenderer.invoke('xumx:choose-folder', typeof initial === 'string' ? initial : undefined),
  pathForFile: (file: File) => webUtils.getPathForFile(file),
  reveal: (path: string) => ipcRenderer.invoke('xumx:reveal', path),
});
