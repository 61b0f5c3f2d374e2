import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';
import { badRequest } from './api-error.js';

/**
 * Parses JSON bodies as Fastify does, but refuses bytes that are not UTF-8 instead of decoding them
 * to U+FFFD: JSON on the wire is UTF-8 (RFC 8259), and a replaced byte would be stored as a
 * character the client never sent. Fastify's own parser still parses, with its prototype
 * poisoning protection and its error codes.
 */
export function acceptUtf8JsonOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (!isUtf8(body)) {
      done(
        badRequest('invalid_json', 'request body must be UTF-8 encoded JSON; it holds bytes that are not UTF-8'),
        undefined,
      );
      return;
    }
    parseJson(request, body.toString('utf8'), done);
  });
}
