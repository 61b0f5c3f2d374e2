/** What went wrong, so callers can branch without parsing messages. */
export type InversifyMikroOrmErrorKind = 'config' | 'connect' | 'embedded' | 'lifecycle' | 'migration' | 'scope';

/**
 * The one error class of this library. Messages say how to fix the problem; they never contain a
 * password (connection settings are described as host:port/database only).
 */
export class InversifyMikroOrmError extends Error {
  override readonly name = 'InversifyMikroOrmError';

  constructor(
    readonly kind: InversifyMikroOrmErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isInversifyMikroOrmError(
  error: unknown,
  kind?: InversifyMikroOrmErrorKind,
): error is InversifyMikroOrmError {
  return error instanceof InversifyMikroOrmError && (kind === undefined || error.kind === kind);
}
