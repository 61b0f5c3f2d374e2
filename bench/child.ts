import { spawn } from 'node:child_process';

/**
 * Runs a compiled bench script in a process of its own and returns the JSON object it prints as
 * its last line: the measuring code then shares neither CPU time, JIT state nor heap with the
 * runner.
 */
export function runJsonChild<T>(script: string, args: string[], nodeArgs: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`${script} exited with ${code ?? signal}:\n${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as T);
      } catch {
        reject(new Error(`${script} printed no JSON result:\n${stdout}\n${stderr}`));
      }
    });
  });
}
