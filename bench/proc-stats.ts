// CPU time and resident memory of processes, from /proc (Linux only; undefined elsewhere).

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticksPerSec = 100;
try {
  ticksPerSec = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep 100, the usual value
}

/** User + system CPU time of a process so far, ms. */
export function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which is in parentheses and may hold spaces).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    return ((Number(f[11]) + Number(f[12])) * 1000) / ticksPerSec;
  } catch {
    return undefined;
  }
}

/** Resident set size of a process, KiB. */
export function rssKiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Total CPU ms of a set of processes (those still readable). */
export function totalCpuMs(pids: (number | undefined)[]): number {
  return pids.reduce<number>((s, p) => s + (cpuMs(p) ?? 0), 0);
}
