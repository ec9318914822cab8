import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import svelte from 'eslint-plugin-svelte';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'out', 'release', 'test-artifacts', 'src-renderer/dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Components (and rune stores) are TypeScript inside Svelte: the svelte parser hands <script lang="ts"> to typescript-eslint.
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.svelte'] } },
  },
  {
    // Only the two IPC helper modules may touch Electron's raw IPC (Heroic's rule).
    files: ['src-main/**/*.ts', 'src-renderer/**/*.ts', 'src-renderer/**/*.svelte'],
    ignores: ['src-main/electron/ipc-bridge.ts', 'src-main/electron/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'use src-main/electron/ipc-bridge.ts' }] },
      ],
    },
  },
  {
    // Layers point one way: the shells (cli, serve, electron) reach jobs/, ml/ and data/ only through api/.
    files: ['src-main/cli/**/*.ts', 'src-main/serve/**/*.ts', 'src-main/electron/**/*.ts'],
    ignores: ['src-main/electron/ipc-bridge.ts', 'src-main/electron/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'use src-main/electron/ipc-bridge.ts' }],
          patterns: [{ group: ['**/jobs/*', '**/ml/*', '**/data/*', '**/jobs/**', '**/ml/**', '**/data/**'], message: 'a shell calls an api operation (src-main/api/ops/*), never jobs/, ml/ or data/ directly' }],
        },
      ],
    },
  },
  {
    // Components reach the main side through a store (src-renderer/src/stores), never through `api` itself.
    files: ['src-renderer/src/**/*.svelte'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'use src-main/electron/ipc-bridge.ts' }],
          patterns: [{ group: ['**/lib/api.ts'], importNames: ['api'], message: 'call a store method (src-renderer/src/stores) instead' }],
        },
      ],
    },
  },
);
