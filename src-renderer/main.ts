import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';
import type { PreloadBridge } from './lib/client.ts';
import { createHttpClient } from './lib/http-client.ts';
import { createIpcClient } from './lib/ipc-client.ts';
import { StudioState } from './state.svelte.ts';

// The Electron preload exposes `xumx`; without it we are in browser mode and talk HTTP to the same service.
const bridge = (window as unknown as { xumx?: PreloadBridge }).xumx;
const studio = new StudioState(bridge ? createIpcClient(bridge) : createHttpClient());
mount(App, { target: document.getElementById('app')!, props: { studio } });
