// Fills the cluster to --instances persistent instances (registrations spread over the nodes at
// high concurrency) and measures resident memory per node: fresh and empty, just before the fill
// (after the throughput rows, so warmed up), and full. Bytes per instance are the growth over the
// fill divided by the instances it added (the fresh figure would also count the heap and code a
// process grows by serving any traffic).

import { load, type LoadResult } from '../load.ts';
import type { Seq } from '../measure.ts';
import type { Muster } from '../muster.ts';
import { createServices, instanceCount, register } from '../nacos.ts';
import type { Options } from '../options.ts';
import { progress } from '../progress.ts';

/** The fill registers into its own services, --fill-services of them. */
const FILL_FAMILY = 'fill';

export interface MemoryResult {
  /** VmRSS per node, KiB, with no instances. */
  rssEmptyKiB: Record<string, number | undefined>;
  /** VmRSS per node, KiB, just before the fill, holding `instancesBefore`. */
  rssBeforeKiB: Record<string, number | undefined>;
  instancesBefore: number;
  /** VmRSS per node, KiB, holding `instances`. */
  rssFullKiB: Record<string, number | undefined>;
  instances: number;
  /** Mean over the nodes of the RSS growth over the fill divided by the instances it added, bytes. */
  bytesPerInstance: number | undefined;
  targetBytesPerInstance: number;
  fill: LoadResult & { registered: number; services: number };
}

export async function fill(opts: Options, seq: Seq, m: Muster, leader: string): Promise<{ fill: MemoryResult['fill']; instances: number; instancesBefore: number; rssBefore: MemoryResult['rssBeforeKiB'] }> {
  progress.step(`creating ${opts.fillServices} services for the fill`);
  await createServices(m.origin(leader), FILL_FAMILY, opts.fillServices);
  await m.settle();
  const rssBefore = m.rss();
  const have = await instanceCount(m.origin(leader));
  const n = Math.max(0, opts.instances - have);
  progress.step(`registering ${n} instances (c=${opts.fillConcurrency}, spread) to hold ${opts.instances}`);
  const r = await load(
    m.origins.map((o) => register(o, FILL_FAMILY, opts.fillServices, false)),
    { concurrency: opts.fillConcurrency, requests: n, offset: seq.take(n), maxMs: 30 * 60_000, onProgress: (d) => progress.update(d, n) },
  );
  progress.step('waiting for every node to apply the registrations');
  await m.settle();
  return { fill: { ...r, registered: n, services: opts.fillServices }, instances: await instanceCount(m.origin(leader)), instancesBefore: have, rssBefore };
}

export function memoryResult(empty: MemoryResult['rssEmptyKiB'], f: Awaited<ReturnType<typeof fill>>, full: MemoryResult['rssFullKiB']): MemoryResult {
  const before = f.rssBefore;
  const growth = Object.keys(before)
    .map((id) => (full[id] !== undefined && before[id] !== undefined ? full[id]! - before[id]! : undefined))
    .filter((g): g is number => g !== undefined);
  const added = f.instances - f.instancesBefore;
  const bytesPerInstance = growth.length && added > 0 ? ((growth.reduce((a, b) => a + b, 0) / growth.length) * 1024) / added : undefined;
  return { rssEmptyKiB: empty, rssBeforeKiB: before, instancesBefore: f.instancesBefore, rssFullKiB: full, instances: f.instances, bytesPerInstance, targetBytesPerInstance: 1024, fill: f.fill };
}
