import path from 'node:path';
import { defineConfig } from 'vitest/config';

/** `npm run test:faults`: real faults against a real PostgreSQL, one file at a time (some restart the server). */
export default defineConfig({
  resolve: { alias: { 'inversify-mikro-orm': path.resolve('src/index.ts') } },
  test: {
    include: ['tests/faults/**/*.faults.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts', 'tests/faults/figures-report.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
