// Svelte compiler options for the renderer (vite-plugin-svelte reads this file).
export default {};
