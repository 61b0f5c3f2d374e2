import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * @mikro-orm/nestjs must share the project's MikroORM (../../node_modules): a second copy installed
 * beside it (an `npm install` without the .npmrc's legacy-peer-deps) would give the process two
 * MikroORMs, whose entity metadata and request contexts do not see each other.
 */
export function checkOneMikroOrm(): void {
  const ownCopy = fileURLToPath(new URL('../../../../node_modules/@mikro-orm/core', import.meta.url));
  if (existsSync(ownCopy)) {
    throw new Error(
      `bench/peers has its own @mikro-orm/core (${ownCopy}): remove bench/peers/node_modules and let npm run bench reinstall it (npm ci --legacy-peer-deps).`,
    );
  }
}
