import { defineConfig } from 'vitest/config';

// One runner for unit, integration and e2e tests. Tests run in forked processes because
// better-sqlite3, sharp and the TF.js wasm backend are native / heavy and not thread-safe to share.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default'],
  },
});
