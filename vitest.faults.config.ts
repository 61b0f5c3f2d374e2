import { defineConfig } from 'vitest/config';
import { packageEntriesFromSource } from './tests/helpers/package-entries.js';

/** `npm run test:faults`: real faults against a real PostgreSQL, one file at a time (some restart the server). */
export default defineConfig({
  resolve: { alias: packageEntriesFromSource },
  test: {
    include: ['tests/faults/**/*.faults.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts', 'tests/faults/figures-report.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
