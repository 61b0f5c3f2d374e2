export type { SessionPerRequestOptions } from './session-per-request.js';
export { registerSessionPerRequest } from './session-per-request.js';
