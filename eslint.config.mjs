// ESLint (flat config) with typescript-eslint. `npm run lint` runs it with
// --max-warnings 0 on top of the type check; `npm test` runs `npm run lint`.
//
// The rules that matter most here are the layer boundaries: only
// src/extension/ may import `vscode` (the engine also runs headless in the CLI
// and, later, off the extension host's thread), and src/shared/ and webview/
// run in a browser too, so they may not import Node's modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeBuiltins = [
  'assert',
  'buffer',
  'child_process',
  'cluster',
  'crypto',
  'dgram',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'http2',
  'https',
  'module',
  'net',
  'os',
  'path',
  'perf_hooks',
  'process',
  'readline',
  'stream',
  'string_decoder',
  'timers',
  'tls',
  'tty',
  'url',
  'util',
  'v8',
  'vm',
  'worker_threads',
  'zlib',
];

const noVscode = {
  name: 'vscode',
  message: 'Only src/extension/ may import vscode: the engine runs headless in the CLI too.',
};

const noNode = [
  { group: ['node:*'], message: 'src/shared/ and webview/ also run in the browser: no Node modules here.' },
  { group: nodeBuiltins, message: 'src/shared/ and webview/ also run in the browser: no Node modules here.' },
];

/**
 * The hard limit beside max-lines' warning: a file in src/ over 600 lines is an
 * error. (ESLint gives a rule one severity per file, so the two are separate.)
 */
const fileSize = {
  rules: {
    'max-file-lines': {
      meta: { type: 'suggestion', schema: [{ type: 'integer' }], messages: { tooLong: 'File has {{count}} lines; split it (the limit in src/ is {{max}}).' } },
      create(context) {
        const max = context.options[0] ?? 600;
        return {
          Program(node) {
            const count = context.sourceCode.lines.length;
            if (count > max) context.report({ node, loc: { line: max + 1, column: 0 }, messageId: 'tooLong', data: { count, max } });
          },
        };
      },
    },
  },
};

export default tseslint.config(
  {
    ignores: ['dist/**', 'out/**', 'node_modules/**', 'test-output/**', 'bench/results/**', '**/*.vsix', 'test/fixtures/**', 'examples/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        clearImmediate: 'readonly',
        queueMicrotask: 'readonly',
        URL: 'readonly',
        TextDecoder: 'readonly',
        TextEncoder: 'readonly',
        AbortController: 'readonly',
        performance: 'readonly',
        structuredClone: 'readonly',
        fetch: 'readonly',
        Response: 'readonly',
        Request: 'readonly',
        Headers: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'no-restricted-imports': ['error', { paths: [noVscode] }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'prefer-const': 'error',
    },
  },
  {
    // One concept per file: a warning near 500 lines, so a file is split before it becomes a second pool.ts.
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    plugins: { size: fileSize },
    rules: {
      'max-lines': ['warn', { max: 500, skipBlankLines: true, skipComments: true }],
      'size/max-file-lines': ['error', 600],
    },
  },
  {
    files: ['src/extension/**/*.ts', 'test/unit/**/*.ts', 'test/support/fakeVscode.ts', 'test/e2e/**/*.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src/shared/**/*.ts', 'webview/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [noVscode], patterns: noNode }] },
  },
  {
    files: ['webview/**/*.ts'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', requestAnimationFrame: 'readonly' } },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    rules: { '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }] },
  },
);
