declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<any>;
  export default component;
}

// The shared contract's types reach errors.ts, which names Node's errno error type; the renderer has no Node
// types, so a minimal shape stands in for it here.
declare namespace NodeJS {
  interface ErrnoException extends Error {
    code?: string;
  }
}
