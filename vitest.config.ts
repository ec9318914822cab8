import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig } from 'vitest/config';

/**
 * The renderer's rune stores' tests: only they go through the Svelte plugin. (The node project
 * leaves them out by a negated include, not by `exclude`, which would replace the CLI's --exclude.)
 */
const STORE_TESTS = 'test/stores/**/*.test.ts';

// One runner for unit, integration and e2e tests. Tests run in forked processes because
// better-sqlite3, sharp and the TF.js wasm backend are native / heavy and not thread-safe to share.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'node', include: ['test/**/*.test.ts', `!${STORE_TESTS}`] },
      },
      {
        extends: true,
        plugins: [svelte({ configFile: false })],
        test: { name: 'stores', include: [STORE_TESTS], environment: './test/helpers/svelte-client-environment.ts' },
      },
    ],
  },
});
