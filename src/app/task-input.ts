import { badRequest } from './api-error.js';
import { TITLE_MAX_LENGTH } from './task.entity.js';

export interface CreateTaskInput {
  title: string;
  done?: boolean;
}

export type UpdateTaskInput = Partial<CreateTaskInput>;

export interface Page {
  limit: number;
  offset: number;
}

export const MAX_PAGE_SIZE = 100;
export const DEFAULT_PAGE_SIZE = 20;
/** The largest value of PostgreSQL's `integer`: a larger id cannot exist and must not reach SQL. */
const MAX_ID = 2_147_483_647;
const TASK_FIELDS = ['title', 'done'] as const;

const invalid = (message: string) => badRequest('validation_failed', message);

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid(`request body must be a JSON object (got ${describe(body)})`);
  }
  const unknown = Object.keys(body).filter((key) => !(TASK_FIELDS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw invalid(
      `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (allowed: ${TASK_FIELDS.join(', ')})`,
    );
  }
  return body as Record<string, unknown>;
}

/** A UTF-16 code unit of a surrogate pair standing alone: no Unicode character, no UTF-8 encoding. */
const UNPAIRED_SURROGATE = /[\uD800-\uDFFF]/u;

/** Characters (code points), as PostgreSQL's `varchar(n)` counts them; `length` counts UTF-16 units. */
const characterCount = (text: string) => [...text].length;

/**
 * Text PostgreSQL can store as given: text cannot hold the NUL character (and one in a statement
 * breaks the wire protocol), and a lone surrogate has no UTF-8 form (it would silently become U+FFFD).
 */
function readText(field: string, value: string): string {
  const nul = value.indexOf('\u0000');
  if (nul >= 0) {
    throw invalid(
      `${field} must not contain the NUL character \\u0000 (found at character ${characterCount(value.slice(0, nul)) + 1})`,
    );
  }
  const lone = UNPAIRED_SURROGATE.exec(value);
  if (lone) {
    const unit = lone[0].charCodeAt(0).toString(16);
    const at = characterCount(value.slice(0, lone.index)) + 1;
    throw invalid(`${field} must be valid Unicode text: unpaired surrogate \\u${unit} at character ${at}`);
  }
  return value;
}

function readTitle(value: unknown): string {
  if (typeof value !== 'string') throw invalid(`title must be a string (got ${describe(value)})`);
  const title = readText('title', value.trim());
  if (title.length === 0) throw invalid('title must not be empty');
  // A string never has more characters than UTF-16 units, so only a long one needs counting.
  const length = title.length > TITLE_MAX_LENGTH ? characterCount(title) : title.length;
  if (length > TITLE_MAX_LENGTH) {
    throw invalid(`title must be at most ${TITLE_MAX_LENGTH} characters (got ${length})`);
  }
  return title;
}

function readDone(value: unknown): boolean {
  if (typeof value !== 'boolean') throw invalid(`done must be true or false (got ${describe(value)})`);
  return value;
}

export function parseCreateTask(body: unknown): CreateTaskInput {
  const fields = requireObject(body);
  if (!('title' in fields)) throw invalid('title is required');
  const input: CreateTaskInput = { title: readTitle(fields.title) };
  if ('done' in fields) input.done = readDone(fields.done);
  return input;
}

export function parseUpdateTask(body: unknown): UpdateTaskInput {
  const fields = requireObject(body);
  const input: UpdateTaskInput = {};
  if ('title' in fields) input.title = readTitle(fields.title);
  if ('done' in fields) input.done = readDone(fields.done);
  if (Object.keys(input).length === 0) throw invalid(`request body must set at least one of ${TASK_FIELDS.join(', ')}`);
  return input;
}

export function parseTaskId(raw: string | undefined): number {
  const id = /^\d{1,10}$/.test(raw ?? '') ? Number(raw) : Number.NaN;
  if (!(id >= 1 && id <= MAX_ID)) {
    throw badRequest('invalid_id', `id must be a whole number from 1 to ${MAX_ID} (got "${raw}")`);
  }
  return id;
}

function readCount(name: string, raw: unknown, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (typeof raw !== 'string' || !/^\d{1,10}$/.test(raw) || Number(raw) > MAX_ID) {
    throw badRequest('invalid_query', `${name} must be a whole number >= 0 (got "${String(raw)}")`);
  }
  return Number(raw);
}

/** `limit` is capped at MAX_PAGE_SIZE rather than rejected, so clients can ask for "as many as allowed". */
export function parsePage(query: Record<string, unknown>): Page {
  const limit = readCount('limit', query.limit, DEFAULT_PAGE_SIZE);
  if (limit === 0) throw badRequest('invalid_query', 'limit must be at least 1 (got "0")');
  return { limit: Math.min(limit, MAX_PAGE_SIZE), offset: readCount('offset', query.offset, 0) };
}
