export type { ExpressSessionOptions, SessionMiddleware } from './session-per-request.js';
export { sessionPerRequest } from './session-per-request.js';
