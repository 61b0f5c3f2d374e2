import { CatchError } from '@inversifyjs/http-core';
import type { FastifyErrorFilter } from '@inversifyjs/http-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { toErrorResponse } from './error-response.js';

/** Every error a controller throws becomes the API's JSON error shape (the adapter's default is an empty 500). */
@CatchError()
export class HttpErrorFilter implements FastifyErrorFilter<unknown> {
  catch(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
    sendError(error, request, reply);
  }
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): void {
  const response = toErrorResponse(error);
  if (response.status === 503) request.log.warn({ err: error }, `${response.body.error}: request failed`);
  else if (response.status >= 500) request.log.error({ err: error }, `${response.body.error}: request failed`);
  reply.status(response.status).headers(response.headers).send(response.body);
}
