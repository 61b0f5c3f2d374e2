import http from 'node:http';

/**
 * What one HTTP request came to, as the client saw it. `refused` is a connection the server never
 * accepted (the client may retry it safely); `reset` is a connection that was dropped without an
 * answer, so the client cannot tell whether its request was applied.
 */
export type HttpOutcome =
  | { kind: 'answered'; status: number; connectionClose: boolean; retryAfter?: string }
  | { kind: 'refused' }
  | { kind: 'reset'; code: string };

/**
 * POST /tasks with `title` through node:http. Without an agent the request opens its own connection
 * and asks to close it (`connection: close`); with a keep-alive agent it reuses the agent's sockets.
 */
export function postTask(url: string, title: string, agent: http.Agent | false = false): Promise<HttpOutcome> {
  const body = JSON.stringify({ title });
  return new Promise((resolve) => {
    const request = http.request(
      `${url}/tasks`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          resolve({
            kind: 'answered',
            status: response.statusCode ?? 0,
            connectionClose: response.headers.connection === 'close',
            retryAfter: response.headers['retry-after'],
          }),
        );
        response.on('error', (error: NodeJS.ErrnoException) => resolve({ kind: 'reset', code: error.code ?? 'ERR' }));
      },
    );
    request.on('error', (error: NodeJS.ErrnoException) =>
      resolve(error.code === 'ECONNREFUSED' ? { kind: 'refused' } : { kind: 'reset', code: error.code ?? 'ERR' }),
    );
    request.end(body);
  });
}

/** Opens `count` keep-alive connections on `agent` (one GET each, all at once) and leaves them idle. */
export async function warmKeepAlive(url: string, agent: http.Agent, count: number): Promise<void> {
  const get = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(`${url}/health/live`, { agent }, (response) => {
          response.resume();
          response.on('end', () => resolve());
        })
        .on('error', reject);
    });
  await Promise.all(Array.from({ length: count }, get));
}
