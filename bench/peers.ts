import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { paths } from './paths.js';

/**
 * The peer servers' own package (bench/peers: NestJS, @mikro-orm/nestjs), installed on demand and
 * never a dependency of the library. Their peer dependencies (@mikro-orm/core, reflect-metadata,
 * and inversify-mikro-orm itself for the app's shared pieces) are the project's: npm installs
 * with legacy-peer-deps so it leaves them out, and `inversify-mikro-orm` is linked to the project
 * the way an app's node_modules holds the package it depends on.
 */
const root = path.join(paths.root, 'bench', 'peers');
const modules = path.join(root, 'node_modules');

export const peerPaths = {
  root,
  /** Server (d), compiled by `tsc -p bench/peers/tsconfig.json` into bench/peers/dist. */
  nestjs: path.join(root, 'dist', 'bench', 'peers', 'nestjs', 'main.js'),
};

function run(command: string, args: string[], log: (message: string) => void): void {
  log(`peers: ${[command, ...args].map((arg) => path.relative(paths.root, arg) || arg).join(' ')}`);
  const result = spawnSync(command, args, { cwd: paths.root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stdout}\n${result.stderr}`,
    );
  }
}

/** Installed, and from the lockfile as it is now (npm writes node_modules/.package-lock.json on install). */
function installed(): boolean {
  const hidden = path.join(modules, '.package-lock.json');
  return existsSync(hidden) && statSync(hidden).mtimeMs >= statSync(path.join(root, 'package-lock.json')).mtimeMs;
}

function linkProject(): void {
  const link = path.join(modules, 'inversify-mikro-orm');
  const target = path.relative(modules, paths.root);
  const current = lstatSync(link, { throwIfNoEntry: false });
  if (current?.isSymbolicLink() && readlinkSync(link) === target) return;
  if (current && !current.isSymbolicLink()) {
    throw new Error(`${link} should be a link to the project, not a copy: remove it and run the benchmark again.`);
  }
  if (current) unlinkSync(link);
  symlinkSync(target, link, 'dir');
}

/**
 * `npm ci` in bench/peers when it is missing or older than its lockfile (about 10 s and 35 MB
 * from the registry, once), then compiles the peer servers against the project's build.
 */
export function preparePeers(log: (message: string) => void): void {
  if (!installed()) {
    run('npm', ['ci', '--prefix', root, '--legacy-peer-deps', '--ignore-scripts', '--no-audit', '--no-fund'], log);
  }
  linkProject();
  run(
    process.execPath,
    [path.join(paths.root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.json')],
    log,
  );
}
