import type { ServerProcess } from './server-process.js';
import type { ServerKind } from './servers.js';

/**
 * Before anything is measured: every server must give the same answers, or the comparison
 * would be between different work. GET must match byte for byte; POST must match in status,
 * location pattern and JSON shape (ids and timestamps differ by nature).
 */
export async function checkParity(servers: Partial<Record<ServerKind, ServerProcess>>): Promise<void> {
  const answers = await Promise.all(
    Object.entries(servers).map(async ([kind, server]) => {
      if (!server) throw new Error(`server ${kind} is not running`);
      const get = await fetch(`${server.url}/tasks/1`);
      const post = await fetch(`${server.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ title: 'parity check' }),
      });
      const created = (await post.json()) as Record<string, unknown>;
      return {
        kind,
        get: `${get.status} ${get.headers.get('content-type')} ${await get.text()}`,
        post: JSON.stringify({
          status: post.status,
          contentType: post.headers.get('content-type'),
          location: post.headers.get('location') === `/tasks/${created.id}`,
          keys: Object.keys(created),
          types: Object.values(created).map((value) => typeof value),
          title: created.title,
          done: created.done,
          sameTimestamps: created.createdAt === created.updatedAt,
        }),
      };
    }),
  );
  const [first, ...rest] = answers;
  for (const other of rest) {
    if (other.get !== first?.get)
      throw new Error(`GET /tasks/1 differs: ${first?.kind} ${first?.get} / ${other.kind} ${other.get}`);
    if (other.post !== first?.post)
      throw new Error(`POST /tasks differs: ${first?.kind} ${first?.post} / ${other.kind} ${other.post}`);
  }
}
