import { defineConfig } from 'vitest/config';
import { packageEntriesFromSource } from './tests/helpers/package-entries.js';

/** `npm run test:scale`: several processes of the built service behind a real HAProxy, one file at a time. */
export default defineConfig({
  resolve: { alias: packageEntriesFromSource },
  test: {
    include: ['tests/scale/**/*.scale.test.ts'],
    globalSetup: ['tests/helpers/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
