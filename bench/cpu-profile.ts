import { readFileSync } from 'node:fs';

/** The parts of V8's `.cpuprofile` format read here (Chrome DevTools opens the same files). */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export const BINDING = 'inversify-mikro-orm: per-request hooks, Session and repository resolution';
/** Also in server (b), which uses the library's configuration: not part of a/b. */
export const DRIVER_AND_POOL = 'inversify-mikro-orm: driver and pool supervision (also in b)';
export const CONTAINER = 'container (inversify)';
export const ADAPTER = 'HTTP adapter (@inversifyjs/http-*)';
const APP = 'the app (TaskService, controller, parsing, hooks)';
const WIRING = 'bench server wiring';
const FASTIFY = 'Fastify (+ pino, find-my-way, fast-json-stringify)';
const NEST = 'NestJS (+ rxjs, @mikro-orm/nestjs)';
const EXPRESS = 'Express';
/** Nobody's own code on the stack: I/O callbacks, promise continuations inside MikroORM or pg, GC. */
const UNOWNED = 'no owner (I/O callbacks, continuations, GC)';

/** Packages grouped by the layer of the stack they belong to; the rest are listed by name. */
const GROUPS: Array<[RegExp, string]> = [
  [
    /^(inversify|@inversifyjs\/(core|container|common|plugin|prototype-utils|reflect-metadata-utils)|reflect-metadata)$/,
    CONTAINER,
  ],
  [/^@inversifyjs\/(http-core|http-fastify|http-express|framework-core)$/, ADAPTER],
  [/^@mikro-orm\/nestjs$/, NEST],
  [/^(@mikro-orm\/.*|kysely)$/, 'MikroORM + Kysely'],
  [/^(pg|pg-.*|postgres-.*)$/, 'pg'],
  [
    /^(fastify|find-my-way|fast-json-stringify|fast-uri|avvio|light-my-request|@fastify\/.*|pino|pino-.*|sonic-boom|thread-stream|safe-regex2|ret|secure-json-parse|toad-cache|process-warning|rfdc|abstract-logging|fast-querystring|fast-decode-uri-component|json-schema-ref-resolver)$/,
    FASTIFY,
  ],
  [/^(@nestjs\/.*|rxjs|tslib|path-to-regexp|iterare|uid|@nuxt\/.*)$/, NEST],
  [
    /^(express|router|body-parser|raw-body|send|serve-static|finalhandler|on-finished|statuses|etag|fresh|type-is|content-type|accepts|negotiator|cookie.*|qs|depd|debug|mime-types|encodeurl|escape-html|parseurl|proxy-addr|range-parser|vary)$/,
    EXPRESS,
  ],
];

/**
 * Layers whose own code decides to do work: a sample is charged to the nearest of these on its
 * stack, so what MikroORM, pg or Node do when the binding calls them is the binding's cost.
 */
const OWNERS = new Set([BINDING, DRIVER_AND_POOL, CONTAINER, ADAPTER, APP, WIRING, FASTIFY, NEST, EXPRESS]);

/**
 * Frames that only pass a call on: the binding's `res.end` wrapper, and the driver's wrappers
 * that only add a retry on a dead connection. What runs below them is their caller's.
 */
function passesThrough({ functionName, url }: CallFrame): boolean {
  if (/\/dist\/lib\/(resilient-driver|retryable-read)\.js$/.test(url)) return true;
  return functionName === 'res.end' && url.endsWith('/http-sessions.js');
}

function packageOf(url: string): string | undefined {
  const at = url.lastIndexOf('/node_modules/');
  if (at < 0) return undefined;
  const [first = '', second = ''] = url.slice(at + '/node_modules/'.length).split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

/** Where a frame's code comes from: a group of packages, the binding, the app, Node or V8. */
export function categoryOf({ functionName, url }: CallFrame): string {
  if (functionName === '(garbage collector)') return 'V8: garbage collector';
  if (functionName === '(program)') return 'V8: native, outside JS (program)';
  if (url.startsWith('node:')) return 'Node core (http, net, streams, async hooks)';
  const pkg = packageOf(url);
  if (pkg) return GROUPS.find(([pattern]) => pattern.test(pkg))?.[1] ?? pkg;
  if (/\/dist\/lib\/(resilient-driver|retryable-read|pool|leak-detector)\.js$/.test(url)) return DRIVER_AND_POOL;
  if (url.includes('/dist/lib/')) return BINDING;
  if (url.includes('/dist/src/app/')) return APP;
  if (url.includes('/bench/')) return WIRING;
  return url ? `other: ${url}` : 'V8 builtins and native calls (socket writes: syscalls)';
}

/** `name file:line`, the path shortened to the package or the project folder. */
export function functionKey({ functionName, url, lineNumber }: CallFrame): string {
  const at = url.lastIndexOf('/node_modules/');
  const short = at >= 0 ? url.slice(at + '/node_modules/'.length) : url.replace(/^file:\/\/.*?\/(dist|bench)\//, '$1/');
  return `${functionName || '(anonymous)'} ${short}:${lineNumber + 1}`;
}

/** Sampled main-thread time, in µs, in four views. */
export interface ProfileTimes {
  /** Everything but `(idle)`. */
  busyMicros: number;
  /** Self time by origin of the code. */
  selfByCategory: Map<string, number>;
  selfByFunction: Map<string, number>;
  /** Time charged to the nearest owning layer on the stack, and to its function. */
  ownedByCategory: Map<string, number>;
  ownedByFunction: Map<string, number>;
  /** The category of each function key. */
  categories: Map<string, string>;
}

const add = (map: Map<string, number>, key: string, value: number) => map.set(key, (map.get(key) ?? 0) + value);

/** Sums the samples of the given profiles (each sample lasts until the next). */
export function profileTimes(files: string[]): ProfileTimes {
  const times: ProfileTimes = {
    busyMicros: 0,
    selfByCategory: new Map(),
    selfByFunction: new Map(),
    ownedByCategory: new Map(),
    ownedByFunction: new Map(),
    categories: new Map(),
  };
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const owners = ownerOfEachNode(profile.nodes);
    const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
    for (let i = 0; i < profile.samples.length - 1; i++) {
      const node = nodes.get(profile.samples[i] as number);
      const micros = profile.timeDeltas[i + 1] ?? 0;
      if (!node || node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(root)') continue;
      times.busyMicros += micros;
      const self = functionKey(node.callFrame);
      times.categories.set(self, categoryOf(node.callFrame));
      add(times.selfByCategory, categoryOf(node.callFrame), micros);
      add(times.selfByFunction, self, micros);
      const owner = owners.get(node.id);
      if (owner) {
        const key = functionKey(owner.callFrame);
        times.categories.set(key, categoryOf(owner.callFrame));
        add(times.ownedByCategory, categoryOf(owner.callFrame), micros);
        add(times.ownedByFunction, key, micros);
      } else {
        add(times.ownedByCategory, UNOWNED, micros);
      }
    }
  }
  return times;
}

/** For every node, the nearest frame at or above it whose layer is an owner (parents come first in V8's list). */
function ownerOfEachNode(nodes: ProfileNode[]): Map<number, ProfileNode | undefined> {
  const parents = new Map<number, number>();
  for (const node of nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const owners = new Map<number, ProfileNode | undefined>();
  const ownerOf = (id: number): ProfileNode | undefined => {
    if (owners.has(id)) return owners.get(id);
    const node = byId.get(id) as ProfileNode;
    const parent = parents.get(id);
    const owns = OWNERS.has(categoryOf(node.callFrame)) && !passesThrough(node.callFrame);
    const owner = owns ? node : parent === undefined ? undefined : ownerOf(parent);
    owners.set(id, owner);
    return owner;
  };
  for (const node of nodes) ownerOf(node.id);
  return owners;
}
