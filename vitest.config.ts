import { defineConfig } from 'vitest/config';
import { packageEntriesFromSource } from './tests/helpers/package-entries.js';

export default defineConfig({
  resolve: { alias: packageEntriesFromSource },
  test: {
    include: ['tests/**/*.test.ts'],
    exclude: ['tests/faults/**', 'tests/scale/**', 'node_modules/**'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
