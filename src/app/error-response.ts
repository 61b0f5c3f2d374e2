import { isAcquireTimeoutError, isDisconnectError } from 'inversify-mikro-orm';
import { ApiError, type ErrorBody } from './api-error.js';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  headers: Record<string, string>;
}

/** Seconds a client should wait before retrying when the database is busy or briefly away. */
const RETRY_AFTER_SECONDS = '1';

/** Fastify's own errors for requests it refuses before any handler runs. */
const FASTIFY_ERRORS: Record<string, { code: string; status: number; message?: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'invalid_json', status: 400 },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'invalid_json', status: 400 },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', status: 413 },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'unsupported_media_type',
    status: 415,
    message: 'request body must be JSON, sent with content-type: application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { code: 'invalid_content_length', status: 400 },
  FST_ERR_VALIDATION: { code: 'validation_failed', status: 400 },
};

const respond = (status: number, error: string, message: string, headers: Record<string, string> = {}) => ({
  status,
  body: { error, message },
  headers,
});

/**
 * Maps any error to the API's JSON error shape. Client mistakes become 4xx with what was wrong;
 * a database that is busy or away becomes 503 with Retry-After; anything else is a bare 500
 * (details go to the log, never to the client).
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof ApiError) return respond(error.status, error.code, error.message, error.headers);
  const fastifyCode = (error as { code?: string }).code;
  const known = fastifyCode ? FASTIFY_ERRORS[fastifyCode] : undefined;
  if (known) return respond(known.status, known.code, known.message ?? (error as Error).message);
  if (isAcquireTimeoutError(error)) {
    return respond(503, 'database_busy', 'All database connections are busy; retry shortly.', {
      'retry-after': RETRY_AFTER_SECONDS,
    });
  }
  if (isDisconnectError(error)) {
    return respond(503, 'database_unavailable', 'The database connection was lost; retry shortly.', {
      'retry-after': RETRY_AFTER_SECONDS,
    });
  }
  const status = (error as { statusCode?: number }).statusCode;
  if (status && status >= 400 && status < 500) return respond(status, 'bad_request', (error as Error).message);
  return respond(500, 'internal_error', 'Internal server error');
}
