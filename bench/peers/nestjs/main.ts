import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { prepareGracefulDrain } from '../../../src/app/graceful-drain.js';
import { applyResponseSchemas } from '../../../src/app/response-schemas.js';
import { BODY_LIMIT_BYTES } from '../../../src/app/server.js';
import { acceptUtf8JsonOnly } from '../../../src/app/utf8-json-body.js';
import { serverSettings } from '../../servers/server-env.js';
import { AppModule } from './app.module.js';
import { ErrorFilter } from './error.filter.js';
import { checkOneMikroOrm } from './one-mikro-orm.js';

/**
 * Server (d): NestJS 12 on its Fastify adapter with @mikro-orm/nestjs, serving the Tasks API's
 * GET /tasks/:id and POST /tasks. What is the app's and not the framework's is the same as in
 * the other servers: the Task entity, the input parsing, the body parser (Nest's own is off), the
 * response schemas (so the same fast-json-stringify serializer), the drain hooks, the error
 * mapping. Started like the others: PORT, HOST, LOG_LEVEL, DATABASE_URL, DB_POOL_MAX.
 */
checkOneMikroOrm();
const { settings, log } = serverSettings();
const adapter = new FastifyAdapter({ loggerInstance: log, bodyLimit: BODY_LIMIT_BYTES, return503OnClosing: true });
const app = await NestFactory.create<NestFastifyApplication>(AppModule, adapter, {
  bodyParser: false,
  logger: ['error', 'warn'],
});
// Nest's adapter holds its own copy of Fastify (same version): the types differ, the instance is one.
const fastify = app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
acceptUtf8JsonOnly(fastify);
prepareGracefulDrain(fastify);
applyResponseSchemas(fastify);
app.useGlobalFilters(new ErrorFilter());
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
await app.listen({ port: settings.port, host: settings.host });
