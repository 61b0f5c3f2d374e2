import path from 'node:path';

/**
 * The example app and the README examples import the package by name, as users do; in this repo
 * that is the source: `inversify-mikro-orm` is src/index.ts, `inversify-mikro-orm/<entry>` is
 * src/<entry>/index.ts (the built package maps them to dist/lib the same way).
 */
export const packageEntriesFromSource = [
  { find: /^inversify-mikro-orm$/, replacement: path.resolve('src/index.ts') },
  { find: /^inversify-mikro-orm\/(\w+)$/, replacement: path.resolve('src/$1/index.ts') },
];
