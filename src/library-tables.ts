/** Where `syncSchema` keeps the fingerprint of the last schema it applied, one row per entity set. */
export const FINGERPRINT_TABLE = 'inversify_mikro_orm_schema_fingerprint';

/** The one-row fingerprint table of earlier versions: left in place on existing databases, never dropped. */
const LEGACY_FINGERPRINT_TABLE = 'inversify_mikro_orm_schema';

/** Tables this library creates for its own bookkeeping: no entity maps them, no schema diff may touch them. */
export const LIBRARY_TABLES: readonly string[] = [FINGERPRINT_TABLE, LEGACY_FINGERPRINT_TABLE];
