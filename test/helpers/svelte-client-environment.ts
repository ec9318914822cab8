/**
 * A Vitest environment that is plain Node but asks Vite for client (browser) transforms, so the
 * Svelte plugin compiles the rune stores (`*.svelte.ts`) as the window runs them: `$state` fields
 * become signals with deep proxies, as in the app, not the server build's plain fields.
 */
import type { Environment } from 'vitest/environments';

export default {
  name: 'svelte-client',
  viteEnvironment: 'client',
  setup() {
    return { teardown() {} };
  },
} satisfies Environment;
