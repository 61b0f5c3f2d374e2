export type { CreateTestDatabaseOptions, TestDatabase } from './test-database.js';
export { createTemplateDatabase, createTestDatabase } from './test-database.js';
export { withRollback } from './with-rollback.js';
