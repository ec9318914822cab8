import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';

// The renderer is served both from Electron's file/custom protocol and from `plumage serve`
// under an arbitrary path, so every asset URL is relative (base './').
const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: './',
  plugins: [svelte()],
  build: {
    outDir: fileURLToPath(new URL('./dist', import.meta.url)),
    emptyOutDir: true,
    // A strict CSP (no inline scripts/styles from data: URLs) is easier without inlined assets.
    assetsInlineLimit: 0,
    target: 'es2022',
    sourcemap: false,
  },
});
