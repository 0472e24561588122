// Failover: a register stream spread over the three nodes (persistent instances, each request a
// new instance); after --failover-lead seconds the leader is SIGKILLed. Measured: time from the
// kill to the first successful register sent after it (target ≤ 1.5 s), and acknowledged writes
// lost — every register answered `ok` must be listed (linearizably, via the new leader) — must be 0.

import { Pool } from 'undici';
import type { Seq } from '../measure.ts';
import type { Muster } from '../muster.ts';
import { createServices, hosts, ipOf, register } from '../nacos.ts';
import type { Options } from '../options.ts';
import { progress } from '../progress.ts';

const FAMILY = 'failover';
const SERVICES = 10;
/** The stream runs at most this long after the kill, and at least this long after the first success. */
const AFTER_KILL_MAX_MS = 20_000;
const AFTER_FIRST_OK_MS = 1_000;

export interface FailoverResult {
  killed: string;
  newLeader: string | undefined;
  concurrency: number;
  sent: number;
  acked: number;
  failed: number;
  /** Kill → first ok answer to a register sent after the kill, s. */
  firstWriteSecs: number | undefined;
  targetSecs: number;
  /** Acknowledged registers not listed afterwards: must be 0. */
  lost: number;
  lostSamples: string[];
  errorSamples: string[];
}

export async function failoverScenario(opts: Options, seq: Seq, m: Muster, leader: string): Promise<FailoverResult> {
  progress.step('failover: creating its services');
  await createServices(m.origin(leader), FAMILY, SERVICES);
  const targets = m.ids.map((id) => register(m.origin(id), FAMILY, SERVICES, false));
  const pools = targets.map((t) => new Pool(t.origin, { connections: opts.failoverConcurrency, headersTimeout: 15_000, bodyTimeout: 15_000 }));
  const base = seq.take(1_000_000);
  const acked: number[] = [];
  const errors = new Set<string>();
  let sent = 0;
  let failed = 0;
  let killAt: number | undefined;
  let firstOkAt: number | undefined;
  let stop = false;
  let next = 0;
  const worker = async () => {
    while (!stop && next < 1_000_000) {
      const k = base + next++;
      const ti = k % targets.length;
      const t = targets[ti]!;
      const s = performance.now();
      sent++;
      let ok = false;
      try {
        const r = await pools[ti]!.request({ path: t.path(k), method: t.method, body: t.body!(k), headers: t.headers });
        ok = t.ok!(r.statusCode, await r.body.text());
        if (!ok && errors.size < 8) errors.add(`${r.statusCode}`);
      } catch (e) {
        if (errors.size < 8) errors.add((e as Error).message);
      }
      const e = performance.now();
      if (ok) {
        acked.push(k);
        if (killAt !== undefined && s >= killAt && firstOkAt === undefined) firstOkAt = e;
      } else {
        failed++;
        // A refused connection answers at once: do not spin.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  progress.step(`failover: register stream (c=${opts.failoverConcurrency}, spread), then SIGKILL the leader ${leader}`);
  const running = Promise.all(Array.from({ length: opts.failoverConcurrency }, worker));
  try {
    await new Promise((r) => setTimeout(r, opts.failoverLeadSecs * 1000));
    killAt = performance.now();
    const killed = m.c.kill(leader, 'SIGKILL');
    const end = killAt + AFTER_KILL_MAX_MS;
    while (performance.now() < end && (firstOkAt === undefined || performance.now() < firstOkAt + AFTER_FIRST_OK_MS)) {
      progress.update(acked.length);
      await new Promise((r) => setTimeout(r, 50));
    }
    await killed;
  } finally {
    stop = true;
    await running;
    await Promise.all(pools.map((p) => p.destroy()));
  }
  const survivors = m.ids.filter((id) => id !== leader);
  progress.step('failover: listing every acknowledged register via the new leader');
  const newLeader = await m.leader(survivors).catch(() => undefined);
  const listed = new Set<string>();
  if (newLeader) for (let s = 0; s < SERVICES; s++) for (const h of await hosts(m.origin(newLeader), `${FAMILY}-${s}`)) listed.add(`${s} ${h.ip}`);
  const lost = acked.filter((k) => !listed.has(`${k % SERVICES} ${ipOf(k)}`));
  return {
    killed: leader,
    newLeader,
    concurrency: opts.failoverConcurrency,
    sent,
    acked: acked.length,
    failed,
    firstWriteSecs: firstOkAt !== undefined ? (firstOkAt - killAt!) / 1000 : undefined,
    targetSecs: 1.5,
    lost: newLeader ? lost.length : acked.length,
    lostSamples: lost.slice(0, 5).map((k) => `${FAMILY}-${k % SERVICES} ${ipOf(k)}`),
    errorSamples: [...errors],
  };
}
