import { createRequire } from 'node:module';
import type * as Pg from 'pg';

/**
 * The `pg` that MikroORM itself uses (its exact dependency), reached through `@mikro-orm/postgresql`.
 * This package does not depend on `pg`: a range of ours could resolve to a second copy beside
 * MikroORM's pinned one.
 */
const fromMikroOrm = createRequire(createRequire(import.meta.url).resolve('@mikro-orm/postgresql'));
export const pg = fromMikroOrm('pg') as typeof Pg;
