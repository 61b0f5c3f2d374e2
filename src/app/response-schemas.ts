import type { FastifyInstance, FastifySchema } from 'fastify';

const task = {
  type: 'object',
  properties: {
    id: { type: 'integer' },
    title: { type: 'string' },
    done: { type: 'boolean' },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['id', 'title', 'done', 'createdAt', 'updatedAt'],
  additionalProperties: false,
} as const;

const taskPage = {
  type: 'object',
  properties: {
    items: { type: 'array', items: task },
    total: { type: 'integer' },
    limit: { type: 'integer' },
    offset: { type: 'integer' },
  },
  required: ['items', 'total', 'limit', 'offset'],
} as const;

/** Success response shapes by route; errors keep plain JSON. */
const RESPONSES: Record<string, FastifySchema['response']> = {
  'POST /tasks': { 201: task },
  'GET /tasks': { 200: taskPage },
  'GET /tasks/:id': { 200: task },
  'PATCH /tasks/:id': { 200: task },
};

/**
 * The Inversify adapter registers routes without schemas; this adds response schemas as they are
 * registered, so Fastify serializes entities with fast-json-stringify (faster than JSON.stringify
 * on entities, and only the listed fields ever leave the service). Call before `adapter.build()`.
 */
export function applyResponseSchemas(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const response = methods.map((method) => RESPONSES[`${method} ${route.url}`]).find(Boolean);
    if (response) route.schema = { ...route.schema, response };
  });
}
