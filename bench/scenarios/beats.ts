// Beats: --beat-instances ephemeral instances are registered (spread), then each is beaten every
// 5 s (light form, spread over the nodes, paced evenly) for --beat-secs; then every service is
// listed: an instance missing or unhealthy was falsely expired (must be 0). CPU of the node
// processes is read from /proc before and after the beat phase.

import { load, type LoadResult } from '../load.ts';
import type { Seq } from '../measure.ts';
import type { Muster } from '../muster.ts';
import { beat, hosts, ipOf, register } from '../nacos.ts';
import type { Options } from '../options.ts';
import { cpuMs } from '../proc-stats.ts';
import { progress } from '../progress.ts';

const FAMILY = 'beat';
const SERVICES = 100;

export interface BeatsResult {
  instances: number;
  intervalMs: number;
  secs: number;
  register: LoadResult;
  beats: LoadResult;
  /** Beats the schedule called for (instances × rounds); those not sent in time are missing from beats.requests. */
  scheduled: number;
  /** Beats per second the instances call for (instances / interval). */
  offeredPerSec: number;
  /** CPU ms per node during the beat phase, and as a share of one core. */
  cpuMs: Record<string, number | undefined>;
  cpuCoreShare: Record<string, number | undefined>;
  cpuMsPerBeat: number | undefined;
  /** Instances listed unhealthy, and not listed at all, at the end: both must be 0. */
  unhealthy: number;
  missing: number;
}

export async function beatsScenario(opts: Options, seq: Seq, m: Muster, leader: string): Promise<BeatsResult> {
  const n = opts.beatInstances;
  const base = seq.take(n);
  progress.step(`registering ${n} ephemeral instances`);
  const reg = await load(m.origins.map((o) => register(o, FAMILY, SERVICES, true)), { concurrency: 64, requests: n, offset: base, maxMs: 10 * 60_000, onProgress: (d) => progress.update(d, n) });

  const rounds = Math.max(1, Math.floor((opts.beatSecs * 1000) / opts.beatIntervalMs));
  const total = rounds * n;
  const gap = opts.beatIntervalMs / n;
  progress.step(`${n} instances beating every ${opts.beatIntervalMs / 1000} s, ${rounds} rounds`);
  const cpu0 = Object.fromEntries(m.ids.map((id) => [id, cpuMs(m.pid(id))]));
  const t0 = performance.now();
  // Request i beats instance i % n: the k the targets see is base + (i % n).
  const targets = m.origins.map((o) => {
    const t = beat(o, FAMILY, SERVICES);
    return { ...t, path: (i: number) => t.path(base + (i % n)) };
  });
  const beats = await load(targets, {
    concurrency: 64,
    requests: total,
    offset: 0,
    startAt: (i) => i * gap,
    maxMs: rounds * opts.beatIntervalMs + 10_000,
    onProgress: (d) => progress.update(d, total),
  });
  const secs = (performance.now() - t0) / 1000;
  const used = Object.fromEntries(m.ids.map((id) => {
    const a = cpu0[id];
    const b = cpuMs(m.pid(id));
    return [id, a !== undefined && b !== undefined ? b - a : undefined];
  }));

  progress.step('listing every beaten instance');
  const L = m.origin(await m.leader());
  let unhealthy = 0;
  let missing = 0;
  for (let s = 0; s < SERVICES; s++) {
    const listed = new Map((await hosts(L, `${FAMILY}-${s}`)).map((h) => [h.ip, h.healthy]));
    // The instances of service s: those whose request number is s modulo SERVICES.
    for (let k = base + ((s - (base % SERVICES) + SERVICES) % SERVICES); k < base + n; k += SERVICES) {
      const h = listed.get(ipOf(k));
      if (h === undefined) missing++;
      else if (!h) unhealthy++;
    }
  }
  const totalCpu = Object.values(used).reduce<number>((a, b) => a + (b ?? 0), 0);
  return {
    instances: n,
    intervalMs: opts.beatIntervalMs,
    secs,
    register: reg,
    beats,
    scheduled: total,
    offeredPerSec: n / (opts.beatIntervalMs / 1000),
    cpuMs: used,
    cpuCoreShare: Object.fromEntries(Object.entries(used).map(([id, v]) => [id, v === undefined ? undefined : v / (secs * 1000)])),
    cpuMsPerBeat: beats.ok > 0 ? totalCpu / beats.ok : undefined,
    unhealthy,
    missing,
  };
}
