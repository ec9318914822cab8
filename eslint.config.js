import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['node_modules', 'dist', 'out', 'release', 'test-artifacts', 'src-renderer/dist'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // Only the two IPC helper modules may touch Electron's raw IPC (Heroic's rule).
    files: ['src-main/**/*.ts', 'src-renderer/**/*.ts'],
    ignores: ['src-main/electron/ipc-bridge.ts', 'src-main/electron/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'electron', importNames: ['ipcMain', 'ipcRenderer'], message: 'use src-main/electron/ipc-bridge.ts' }] },
      ],
    },
  },
);
