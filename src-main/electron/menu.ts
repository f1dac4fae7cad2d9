// The native menu bar: Open…, Open Folder…, Open Recent, Export…, Models…, Settings, Quit. Actions that belong to the
// UI (export, models, settings) are sent to the renderer as menu events.
import { Menu, app, type MenuItemConstructorOptions } from 'electron';
import { basename } from 'node:path';
import type { MenuAction } from '../api/contract.ts';

export interface MenuActions {
  openFiles(): void;
  openFolder(): void;
  openRecent(path: string): void;
  showPanel(panel: MenuAction): void;
}

export function buildMenu(recent: string[], actions: MenuActions): Menu {
  const isMac = process.platform === 'darwin';
  const recentItems: MenuItemConstructorOptions[] = recent.length
    ? recent.map((p) => ({ label: basename(p), sublabel: p, click: () => actions.openRecent(p) }))
    : [{ label: 'No recent songs', enabled: false }];
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: '&File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: actions.openFiles },
        { label: 'Open Folder…', accelerator: 'CmdOrCtrl+Shift+O', click: actions.openFolder },
        { label: 'Open Recent', submenu: recentItems },
        { type: 'separator' },
        { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => actions.showPanel('export') },
        { type: 'separator' },
        { label: 'Models…', click: () => actions.showPanel('models') },
        {
          label: isMac ? 'Settings…' : 'Settings',
          accelerator: 'CmdOrCtrl+,',
          click: () => actions.showPanel('settings'),
        },
        ...(isMac
          ? []
          : [{ type: 'separator' as const }, { role: 'quit' as const, label: 'Quit', accelerator: 'CmdOrCtrl+Q' }]),
      ],
    },
    { role: 'editMenu' },
    {
      label: '&View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ type: 'separator' as const }, { role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
  ];
  return Menu.buildFromTemplate(template);
}
