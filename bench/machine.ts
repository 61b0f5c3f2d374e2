import os from 'node:os';
import { query, serverUrl } from './database.js';

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  node: string;
  postgres: string;
  /** 1-minute load average when the run started: other work on the machine shows up here. */
  loadAverage: number;
}

export async function describeMachine(): Promise<Machine> {
  const [row] = await query<{ server_version: string }>(serverUrl(), 'show server_version');
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGb: Math.round(os.totalmem() / 1024 ** 3),
    node: process.version,
    postgres: row?.server_version ?? 'unknown',
    loadAverage: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}
