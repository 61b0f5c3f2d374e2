import { readFileSync } from 'node:fs';

/** A process's resident memory as Linux splits it: anonymous (heaps, malloc arenas, stacks) and file-backed (code). */
export interface ResidentMemory {
  anonBytes: number;
  fileBytes: number;
}

export function residentMemory(pid: number): ResidentMemory {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) * 1024;
  return { anonBytes: kb('RssAnon'), fileBytes: kb('RssFile') };
}
