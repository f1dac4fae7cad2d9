// The one Content-Security-Policy of the renderer, whichever door serves it (Electron's app scheme or browser
// mode's 127.0.0.1 server): only the app's own scripts run (and its own WebAssembly compiles); stems and the event
// socket come from the same origin.
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  // The player's time stretcher is WebAssembly (compiled in its audio worklet); no JavaScript eval is allowed.
  "script-src 'self' 'wasm-unsafe-eval'",
  // wavesurfer.js styles its shadow DOM with a <style> element.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "worker-src 'self' blob:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
