import type { LoadRequest } from './load-spec.js';

/** Tasks seeded before any load; reads cycle through the first READ_IDS of them. */
export const SEEDED_TASKS = 1000;
const READ_IDS = 100;

/** GET /tasks/:id over existing rows: prebuilt requests, so the load generator does no work per request. */
export const readTask: LoadRequest[] = Array.from({ length: READ_IDS }, (_, i) => ({
  method: 'GET',
  path: `/tasks/${i + 1}`,
}));

export const createTask: LoadRequest[] = [{ method: 'POST', path: '/tasks', body: { title: 'benchmark task' } }];

/** Four reads to one write, for the long-running memory test. */
export const mixed: LoadRequest[] = readTask.flatMap((read, i) =>
  i % 4 === 3 ? [read, createTask[0] as LoadRequest] : [read],
);

export const endpoints = {
  'GET /tasks/:id': readTask,
  'POST /tasks': createTask,
} as const;

export type Endpoint = keyof typeof endpoints;
