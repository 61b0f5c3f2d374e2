import { describeEndpoint, type ParsedConnectionUrl, parseConnectionUrl } from './connection-url.js';

export const REPLICA_URLS_VARIABLE = 'DATABASE_REPLICA_URLS';

/** One read replica as configured: its URL, split like `DATABASE_URL`, and a name for logs and health. */
export interface ReplicaUrl {
  /** `replica-1` for the first URL of `DATABASE_REPLICA_URLS`: health reports name replicas this way, never by host. */
  name: string;
  url: ParsedConnectionUrl;
  /** `host:port/database`, for messages (never the password). */
  endpoint: string;
}

/**
 * Parses `DATABASE_REPLICA_URLS` (`variable`: its name, prefixed for a second database):
 * comma-separated URLs, each validated like `DATABASE_URL` (TLS parameters honoured). Problems name
 * the variable and the entry (1-based), never the URL itself. A comma inside a password or a
 * parameter must be written `%2C`.
 */
export function parseReplicaUrls(
  raw: string | undefined,
  variable: string,
): { replicas: ReplicaUrl[] } | { problems: string[] } {
  const value = raw?.trim();
  if (!value) return { replicas: [] };
  const problems: string[] = [];
  const replicas: ReplicaUrl[] = [];
  value.split(',').forEach((entry, index) => {
    const label = `${variable} entry ${index + 1}`;
    if (entry.trim() === '') {
      problems.push(`${label} is empty (separate replica URLs with single commas, write a comma inside a URL as %2C)`);
      return;
    }
    const parsed = parseConnectionUrl(entry.trim(), label);
    if ('problems' in parsed) problems.push(...parsed.problems);
    else {
      const { url } = parsed;
      replicas.push({
        name: `replica-${index + 1}`,
        url,
        endpoint: describeEndpoint(url.host, url.port, url.database),
      });
    }
  });
  return problems.length > 0 ? { problems } : { replicas };
}

/** What `replicaOverrideProblems` checks the overrides against. */
export interface ReplicaSetting {
  /** `DATABASE_REPLICA_URLS`, prefixed for a second database. */
  variable: string;
  /** `DATABASE_URL`, prefixed the same way. */
  primaryVariable: string;
  count: number;
  embedded: boolean;
  readYourWrites: abstract new (...args: never[]) => unknown;
}

/** The overrides that would bypass or break what `DATABASE_REPLICA_URLS` sets up. */
export function replicaOverrideProblems(
  overrides: { replicas?: unknown; entityManager?: unknown },
  { variable, primaryVariable, count, embedded, readYourWrites }: ReplicaSetting,
): string[] {
  const problems: string[] = [];
  if (overrides.replicas !== undefined) {
    problems.push(
      `replicas is set through ${variable} (comma-separated URLs, each validated like DATABASE_URL, TLS honoured, pools supervised)`,
    );
  }
  if (count > 0 && embedded) {
    problems.push(
      `${variable} cannot be used with the embedded PostgreSQL (it has no replicas): unset it, or use ${primaryVariable} for the primary instead of the embedded server`,
    );
  }
  const manager = overrides.entityManager;
  if (count > 0 && typeof manager === 'function' && !(manager.prototype instanceof readYourWrites)) {
    problems.push(
      `entityManager must extend ReadYourWritesEntityManager when ${variable} is set, or a Session would read its own writes from a replica that may not have them yet`,
    );
  }
  return problems;
}
