/** The slice of a pino (or Fastify) logger this library writes to. */
export interface Logger {
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

/** Until the application hands over its own logger, warnings and errors still reach stderr. */
export const stderrLogger: Logger = {
  info: () => undefined,
  warn: (details, message) => console.warn(message, details),
  error: (details, message) => console.error(message, details),
};
