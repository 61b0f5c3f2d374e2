import { runLoad } from './load-client.js';
import type { LoadRequest } from './load-spec.js';
import type { LoadProfile } from './options.js';
import type { ServerProcess } from './server-process.js';

/**
 * A freshly started server runs every endpoint for a while before any measurement: the Tasks API
 * has more code for the JIT to compile than the bare servers, and measuring it half-compiled would
 * charge the compiler to the binding.
 */
export async function warmUp(
  servers: ServerProcess[],
  workloads: LoadRequest[][],
  profile: LoadProfile,
): Promise<void> {
  if (profile.initialWarmupSeconds <= 0) return;
  for (const server of servers) {
    for (const requests of workloads) {
      await runLoad({
        url: server.url,
        connections: profile.connections,
        warmupSeconds: 0,
        durationSeconds: profile.initialWarmupSeconds,
        requests,
      });
    }
  }
}
