import { readFileSync } from 'node:fs';

/** Linux counts CPU time in clock ticks of 1/100 s (USER_HZ, fixed for user space). */
const TICKS_PER_SECOND = 100;

export interface CpuTimes {
  /** Every thread of the process (JavaScript, JIT compilers, GC helpers, libuv): user, system. */
  userMs: number;
  systemMs: number;
  /** The main thread alone, where JavaScript runs (what the sampling profiler sees). */
  mainThreadMs: number;
}

function userAndSystemMs(statFile: string): [number, number] {
  const stat = readFileSync(statFile, 'utf8');
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return [(Number(fields[11]) * 1000) / TICKS_PER_SECOND, (Number(fields[12]) * 1000) / TICKS_PER_SECOND];
}

/**
 * CPU time a process has used so far, from /proc. Unlike requests per second, CPU time per
 * request moves little when other work shares the machine: the figure to compare servers by on a
 * busy host. (System time less so: loopback writes also process the receiver's side.)
 */
export function cpuTimes(pid: number): CpuTimes {
  const [userMs, systemMs] = userAndSystemMs(`/proc/${pid}/stat`);
  const [mainUser, mainSystem] = userAndSystemMs(`/proc/${pid}/task/${pid}/stat`);
  return { userMs, systemMs, mainThreadMs: mainUser + mainSystem };
}

export function cpuSince(before: CpuTimes, after: CpuTimes): CpuTimes {
  return {
    userMs: after.userMs - before.userMs,
    systemMs: after.systemMs - before.systemMs,
    mainThreadMs: after.mainThreadMs - before.mainThreadMs,
  };
}
