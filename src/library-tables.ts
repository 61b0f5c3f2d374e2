/** Where `syncSchema` keeps the fingerprint of the last schema it applied. */
export const FINGERPRINT_TABLE = 'inversify_mikro_orm_schema';

/** Tables this library creates for its own bookkeeping: no entity maps them, no schema diff may touch them. */
export const LIBRARY_TABLES: readonly string[] = [FINGERPRINT_TABLE];
