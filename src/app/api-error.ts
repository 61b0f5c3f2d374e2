/**
 * An error meant for the API client: an HTTP status, a stable machine-readable code, and a
 * message that says what was wrong and, for input, which field.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);

/** The JSON body of every error response. */
export interface ErrorBody {
  error: string;
  message: string;
}
