import { spawn } from 'node:child_process';
import type { LoadResult, LoadSpec } from './load-spec.js';
import { paths } from './paths.js';

/** Runs the load generator (load.ts) in a process of its own and returns what it measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [paths.bench('load.js'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`load generator exited with ${code}:\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as LoadResult);
      } catch {
        reject(new Error(`load generator printed no result:\n${stdout}\n${stderr}`));
      }
    });
  });
}
