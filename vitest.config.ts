import path from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Examples import the package by name, as users do; in this repo that is the source.
    alias: [
      { find: /^inversify-mikro-orm$/, replacement: path.resolve('src/index.ts') },
      { find: /^inversify-mikro-orm\/metrics$/, replacement: path.resolve('src/metrics/index.ts') },
      { find: /^inversify-mikro-orm\/testing$/, replacement: path.resolve('src/testing/index.ts') },
    ],
  },
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/faults/**', 'node_modules/**'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
