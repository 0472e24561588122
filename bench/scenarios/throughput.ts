// Muster rows: register (persistent instances) via the leader and spread over the three nodes,
// list reads from local applied state and linearizable (spread), and deregister via the leader of
// exactly what the register-via-leader row of the same concurrency registered.

import { measure, warmupCount, type Row, type Seq } from '../measure.ts';
import type { Muster } from '../muster.ts';
import { createServices, deregister, list, register } from '../nacos.ts';
import type { Options } from '../options.ts';
import { load } from '../load.ts';
import { progress } from '../progress.ts';

export const REG_LEADER = 'register via leader';
export const REG_SPREAD = 'register spread';
export const LIST_LOCAL = 'list local';
export const LIST_LIN = 'list linearizable';
export const DEREG = 'deregister via leader';

/** Services the register rows write to (persistent, no health checker). */
export const BENCH_FAMILY = 'bench';
export const BENCH_SERVICES = 100;
const LIST_FAMILY = 'list';
const LIST_SERVICES = 10;

/** Creates the services the rows use (and the list services' instances). */
export async function setupServices(opts: Options, seq: Seq, m: Muster, leader: string): Promise<void> {
  progress.step('creating services');
  await createServices(m.origin(leader), BENCH_FAMILY, BENCH_SERVICES);
  await createServices(m.origin(leader), LIST_FAMILY, LIST_SERVICES);
}

export async function fillListServices(opts: Options, seq: Seq, m: Muster, leader: string): Promise<void> {
  progress.step('registering the instances the list rows read');
  const n = LIST_SERVICES * opts.listSize;
  const r = await load([register(m.origin(leader), LIST_FAMILY, LIST_SERVICES, false)], { concurrency: 16, requests: n, offset: seq.take(n), maxMs: 60_000 });
  if (r.errors) throw new Error(`registering the list services' instances: ${r.errors} errors: ${r.errorSamples.join('; ')}`);
}

export async function throughputRows(opts: Options, seq: Seq, m: Muster, rows: Row[]): Promise<void> {
  const pids = m.pids();
  /** Runs a row against the current leader; notes on the row a leader change during it. */
  const row = async (f: (leader: string) => Promise<Row>): Promise<Row> => {
    const leader = await m.leader();
    const before = await m.term();
    const r = await f(leader);
    const after = await m.term();
    const now = await m.leader().catch(() => 'none');
    if (after !== before || now !== leader) r.note = `leader changed during this row: ${leader} (term ${before}) → ${now} (term ${after})`;
    rows.push(r);
    return r;
  };
  const regLeader = new Map<number, { row: Row; warmup: number }>();
  for (const c of opts.concurrency) {
    const warmup = seq.take(warmupCount(opts, c));
    const r = await row((leader) => measure(opts, seq, { system: 'muster', scenario: REG_LEADER, targets: [register(m.origin(leader), BENCH_FAMILY, BENCH_SERVICES, false)], concurrency: c, pids, warmupOffset: warmup }));
    regLeader.set(c, { row: r, warmup });
  }
  for (const c of opts.concurrency) await row(() => measure(opts, seq, { system: 'muster', scenario: REG_SPREAD, targets: m.origins.map((o) => register(o, BENCH_FAMILY, BENCH_SERVICES, false)), concurrency: c, pids }));
  for (const c of opts.concurrency) await row(() => measure(opts, seq, { system: 'muster', scenario: LIST_LOCAL, targets: m.origins.map((o) => list(o, LIST_FAMILY, LIST_SERVICES, false)), concurrency: c, pids }));
  for (const c of opts.concurrency) await row(() => measure(opts, seq, { system: 'muster', scenario: LIST_LIN, targets: m.origins.map((o) => list(o, LIST_FAMILY, LIST_SERVICES, true)), concurrency: c, pids }));
  for (const c of opts.concurrency) {
    const { row: reg, warmup } = regLeader.get(c)!;
    // Each round deregisters what the same round of the register row registered (requestCount
    // numbers from its offset; any it did not send within --row-secs are absent: a no-op).
    await row((leader) => measure(opts, seq, { system: 'muster', scenario: DEREG, targets: [deregister(m.origin(leader), BENCH_FAMILY, BENCH_SERVICES, false)], concurrency: c, pids, warmupOffset: warmup, offsets: reg.rounds.map((r) => r.offset) }));
  }
}
