export { embeddedDatabaseConfig } from './embedded-config.js';
export type { EmbeddedDatabaseOptions, EmbeddedEndpoint } from './embedded-database.js';
export { EmbeddedDatabase } from './embedded-database.js';
