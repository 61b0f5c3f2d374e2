import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type CommandResult, runCommand } from './run-command.js';

const INSTALL_TIMEOUT_MS = 170_000;

/** What `node_modules` holds: packages (as `npm ls` counts them) and bytes (file sizes, and disk use like `du`). */
export interface InstallFootprint {
  packages: number;
  bytes: number;
  diskBytes: number;
}

/** An empty npm project outside the repository, into which the tests install the packed tarball as a user would. */
export class ConsumerProject {
  private constructor(readonly dir: string) {}

  static async create(dir: string): Promise<ConsumerProject> {
    await mkdir(dir, { recursive: true });
    await writeFile(
      path.join(dir, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    return new ConsumerProject(dir);
  }

  async install(...specs: string[]): Promise<CommandResult> {
    return runCommand('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...specs], {
      cwd: this.dir,
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
  }

  /** Every installed package directory, as `npm ls --all --parseable` lists them. */
  async installedPaths(): Promise<string[]> {
    const ls = await runCommand('npm', ['ls', '--all', '--parseable'], { cwd: this.dir });
    const paths = ls.stdout.split('\n').filter((line) => line.trim() && line !== this.dir);
    return [...new Set(paths)];
  }

  /** How many copies of `name` the tree holds. */
  async copiesOf(name: string): Promise<number> {
    return (await this.installedPaths()).filter((entry) => entry.endsWith(`${path.sep}node_modules${path.sep}${name}`))
      .length;
  }

  async footprint(): Promise<InstallFootprint> {
    const { bytes, diskBytes } = await sizeOf(path.join(this.dir, 'node_modules'));
    return { packages: (await this.installedPaths()).length, bytes, diskBytes };
  }

  async copyIn(file: string): Promise<void> {
    await copyFile(file, path.join(this.dir, path.basename(file)));
  }

  async writeFile(name: string, content: string): Promise<void> {
    await writeFile(path.join(this.dir, name), content);
  }

  run(command: string, args: string[], env: Record<string, string> = {}): Promise<CommandResult> {
    return runCommand(command, args, { cwd: this.dir, env, timeoutMs: 120_000 });
  }
}

export async function sizeOf(target: string): Promise<{ bytes: number; diskBytes: number }> {
  const info = await stat(target);
  if (!info.isDirectory()) return { bytes: info.size, diskBytes: info.blocks * 512 };
  let bytes = 0;
  let diskBytes = info.blocks * 512;
  for (const entry of await readdir(target, { withFileTypes: true })) {
    if (entry.isSymbolicLink()) continue;
    const inner = await sizeOf(path.join(target, entry.name));
    bytes += inner.bytes;
    diskBytes += inner.diskBytes;
  }
  return { bytes, diskBytes };
}

export const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
