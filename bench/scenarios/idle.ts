// CPU of the node processes with no requests at all (ticks, heartbeats, sweeps): the floor under
// every row's CPU per request.

import type { Muster } from '../muster.ts';
import { cpuMs } from '../proc-stats.ts';
import { progress } from '../progress.ts';

export interface IdleResult {
  secs: number;
  /** CPU per node as a share of one core. */
  coreShare: Record<string, number | undefined>;
}

export async function idleCpu(m: Muster, secs = 3): Promise<IdleResult> {
  progress.step(`idle cluster for ${secs} s`);
  const before = Object.fromEntries(m.ids.map((id) => [id, cpuMs(m.pid(id))]));
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, secs * 1000));
  const ms = performance.now() - t0;
  const coreShare = Object.fromEntries(
    m.ids.map((id) => {
      const a = before[id];
      const b = cpuMs(m.pid(id));
      return [id, a !== undefined && b !== undefined ? (b - a) / ms : undefined];
    }),
  );
  return { secs, coreShare };
}
