// The printed table (each Muster row with its ratios to the baselines) and the JSON results.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Row } from './measure.ts';
import { ETCD_DELETE, ETCD_PUT_LEADER, ETCD_PUT_SPREAD, ETCD_RANGE_LIN, ETCD_RANGE_SER, EXPRESS, RAW } from './scenarios/baselines.ts';
import type { BeatsResult } from './scenarios/beats.ts';
import type { FailoverResult } from './scenarios/failover.ts';
import type { IdleResult } from './scenarios/idle.ts';
import type { JoinResult } from './scenarios/join.ts';
import type { MemoryResult } from './scenarios/memory.ts';
import { DEREG, LIST_LIN, LIST_LOCAL, REG_LEADER, REG_SPREAD } from './scenarios/throughput.ts';

import type { WatchBenchResult } from './watch.ts';

export interface Results {
  startedAt: string;
  finishedAt?: string;
  options: object;
  machine: object;
  etcdVersion?: string;
  rows: Row[];
  idle?: IdleResult;
  /** Raft terms of the Muster cluster: each increase is an election (none were asked for before the failover). */
  terms?: { atStart: number; beforeFailover: number };
  memory?: MemoryResult;
  join?: JoinResult;
  beats?: BeatsResult;
  failover?: FailoverResult;
  /** Commit-to-notification latency of blocking queries, SSE and UDP push (bench/watch.ts). */
  watch?: WatchBenchResult[];
  notes: string[];
  errors: string[];
}

/** Each Muster scenario's baselines, first the one the issue names. */
const BASELINES: Record<string, [Row['system'], string][]> = {
  [REG_LEADER]: [['etcd', ETCD_PUT_LEADER], ['baseline', RAW]],
  [REG_SPREAD]: [['etcd', ETCD_PUT_SPREAD], ['baseline', RAW]],
  [LIST_LOCAL]: [['baseline', EXPRESS], ['etcd', ETCD_RANGE_SER]],
  [LIST_LIN]: [['etcd', ETCD_RANGE_LIN]],
  [DEREG]: [['etcd', ETCD_DELETE], ['baseline', RAW]],
};

export interface Ratio {
  baseline: string;
  rps: number;
  p50: number;
  cpu: number | undefined;
}

export function ratios(row: Row, rows: Row[]): Ratio[] {
  if (row.system !== 'muster') return [];
  const out: Ratio[] = [];
  for (const [system, scenario] of BASELINES[row.scenario] ?? []) {
    const b = rows.find((r) => r.system === system && r.scenario === scenario && r.concurrency === row.concurrency);
    if (!b || b.result.rps === 0) continue;
    out.push({
      baseline: `${system === 'etcd' ? 'etcd ' : ''}${scenario}`,
      rps: row.result.rps / b.result.rps,
      p50: row.result.p50 / b.result.p50,
      cpu: row.cpuMsPerReq !== undefined && b.cpuMsPerReq !== undefined && system === 'etcd' ? row.cpuMsPerReq / b.cpuMsPerReq : undefined,
    });
  }
  return out;
}

const f = (n: number | undefined, d = 2) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(d));
const kib = (k: number | undefined) => (k === undefined ? '-' : `${(k / 1024).toFixed(0)} MiB`);
const verdict = (ok: boolean | undefined) => (ok === undefined ? 'n/a' : ok ? 'PASS' : 'MISS');

function rowLine(r: Row, rows: Row[]): string {
  const x = r.result;
  const rat = ratios(r, rows)
    .map((q) => `${q.rps.toFixed(2)}× ${q.baseline} (p50 ${q.p50.toFixed(2)}×${q.cpu !== undefined ? `, cpu ${q.cpu.toFixed(2)}×` : ''})`)
    .join(' · ');
  return `  ${r.scenario.padEnd(22)} ${String(r.concurrency).padStart(4)} ${x.rps.toFixed(0).padStart(8)} ${f(x.p50).padStart(8)} ${f(x.p99).padStart(8)} ${String(x.errors).padStart(6)} ${f(r.cpuMsPerReq, 3).padStart(8)}  ${rat}`;
}

export function formatReport(res: Results): string {
  const out: string[] = [];
  const header = `  ${'scenario'.padEnd(22)} ${'conc'.padStart(4)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'errors'.padStart(6)} ${'cpu ms'.padStart(8)}  ratio (throughput; p50 and CPU/request as Muster ÷ baseline)`;
  const section = (title: string, system: Row['system']) => {
    const rs = res.rows.filter((r) => r.system === system);
    if (!rs.length) return;
    out.push(title, header);
    for (const r of rs) {
      out.push(rowLine(r, res.rows));
      if (r.note) out.push(`      ^ ${r.note}`);
    }
  };
  section('HTTP ceilings (hello-world, one process each)', 'baseline');
  section(`etcd ${res.etcdVersion?.replace(/^etcd Version: /, '') ?? ''} (3 members, JSON gateway, ~100-byte values)`, 'etcd');
  section('Muster (3 nodes; register = persistent instance, committed on a majority with fsync)', 'muster');
  out.push('  cpu ms = CPU time (user+sys) of all serving processes per successful request');
  if (res.idle) out.push(`  idle cluster (no requests, ${res.idle.secs} s): CPU per node ${Object.entries(res.idle.coreShare).map(([id, v]) => `${id} ${v === undefined ? '-' : `${(v * 100).toFixed(1)}%`}`).join(' · ')} of a core`);

  if (res.watch) {
    out.push('', `watch: ${res.watch.reduce((n, w) => n + w.watchers, 0)} watchers over the three nodes, one change at a time through the leader (ms; "server" = each node's own notification time − the leader's time in the entry)`);
    for (const w of res.watch) {
      const srv = w.server.map((x) => `${f(x.p50 ?? undefined)}/${f(x.p99 ?? undefined)}`).join(' ');
      out.push(`  ${w.kind.padEnd(9)} ${String(w.watchers).padStart(4)} watchers · ${w.sinceAck.count} notifications · after the write's ack p50 ${f(w.sinceAck.p50 ?? undefined)} p99 ${f(w.sinceAck.p99 ?? undefined)} · after it was sent p50 ${f(w.sinceSent.p50 ?? undefined)} p99 ${f(w.sinceSent.p99 ?? undefined)} · server p50/p99 per node ${srv}${w.kind !== 'blocking' ? ` (target p99 ≤ 20: ${verdict(w.server.every((x) => x.p99 !== null && x.p99 <= 20))})` : ''} · missed ${w.missed}`);
    }
  }
  const m = res.memory;
  if (m) {
    out.push('', `memory: VmRSS per node, fresh and empty → ${m.instancesBefore} instances after the rows above → ${m.instances} instances (${m.fill.registered} registered into ${m.fill.services} services at ${m.fill.rps.toFixed(0)}/s, c=${m.fill.concurrency}, spread, ${m.fill.errors} errors)`);
    out.push(`  ${Object.keys(m.rssEmptyKiB).map((id) => `${id} ${kib(m.rssEmptyKiB[id])} → ${kib(m.rssBeforeKiB[id])} → ${kib(m.rssFullKiB[id])}`).join(' · ')}`);
    // Heap growth and collection swamp a small fill.
    const measurable = m.bytesPerInstance !== undefined && m.instances - m.instancesBefore >= 20_000;
    out.push(`  ${f(m.bytesPerInstance, 0)} bytes per instance added by the fill, mean over the nodes (target ≤ ${m.targetBytesPerInstance}: ${measurable ? verdict(m.bytesPerInstance! <= m.targetBytesPerInstance) : 'n/a, fill fewer than 20,000 instances'})`);
  }
  const j = res.join;
  if (j) {
    out.push('', `join: a new empty node joins a cluster holding ${j.instances} instances`);
    out.push(`  voter after ${f(j.voterSecs)} s (target ≤ ${j.targetSecs} s: ${verdict(j.voterSecs === undefined ? false : j.voterSecs <= j.targetSecs)}) · applied the commit index after ${f(j.caughtUpSecs)} s · RSS ${kib(j.rssKiB)} · removed again: ${j.removed ? 'yes' : 'NO'}${j.error ? `\n  error: ${j.error.split('\n')[0]}` : ''}`);
  }
  const b = res.beats;
  if (b) {
    out.push('', `beats: ${b.instances} ephemeral instances, each beating every ${b.intervalMs / 1000} s from its registration on (light form, spread over the nodes)`);
    out.push(`  registration ${b.register.rps.toFixed(0)}/s (${b.register.errors} errors) · steady window ${f(b.beats.secs, 1)} s: ${b.beats.rps.toFixed(0)} beats/s ok of ${b.offeredPerSec.toFixed(0)}/s called for · p50 ${f(b.beats.p50)} ms p99 ${f(b.beats.p99)} ms · ${b.beats.errors} errors · ${f(b.cpuMsPerBeat, 3)} CPU ms/beat`);
    out.push(`  CPU per node in the window (share of one core): ${Object.entries(b.cpuCoreShare).map(([id, v]) => `${id} ${v === undefined ? '-' : `${(v * 100).toFixed(0)}%`}`).join(' · ')} · beats sent late by p99 ${f(b.lateP99Ms, 0)} ms, max ${f(b.lateMaxMs, 0)} ms${b.lateMaxMs > 10_000 ? ' (over 10 s: the generator fell behind; an expiry below may be its fault, not a false one)' : ''}`);
    out.push(`  falsely unhealthy ${b.unhealthy}, missing ${b.missing} (target 0: ${verdict(b.unhealthy + b.missing === 0)})`);
  }
  const o = res.failover;
  if (o) {
    out.push('', `failover: SIGKILL of the leader (${o.killed}) during a register stream (c=${o.concurrency}, spread); new leader ${o.newLeader ?? 'NONE'}`);
    out.push(`  first successful register sent after the kill: ${f(o.firstWriteSecs)} s (target ≤ ${o.targetSecs} s: ${verdict(o.firstWriteSecs === undefined ? false : o.firstWriteSecs <= o.targetSecs)})`);
    out.push(`  ${o.sent} sent, ${o.acked} acknowledged, ${o.failed} failed · acknowledged writes lost: ${o.lost} (target 0: ${verdict(o.lost === 0)})${o.lostSamples.length ? ` e.g. ${o.lostSamples.join(', ')}` : ''}`);
    if (o.errorSamples.length) out.push(`  errors seen: ${o.errorSamples.join(' | ').slice(0, 300)}`);
  }
  if (res.terms) out.push('', `elections before the failover scenario: term ${res.terms.atStart} → ${res.terms.beforeFailover}${res.terms.beforeFailover > res.terms.atStart ? ' (leader changes under load: each is an election timeout that fired)' : ' (none)'}`);
  for (const n of res.notes) out.push(`note: ${n}`);
  for (const e of res.errors) out.push(`ERROR: ${e.split('\n').filter((l) => l.trim() !== '').slice(0, 12).join('\n  ')}`);
  return out.join('\n');
}

export function writeResults(res: Results, path: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const rows = res.rows.map((r) => ({ ...r, ratios: ratios(r, res.rows) }));
  writeFileSync(path, `${JSON.stringify({ ...res, rows }, null, 2)}\n`);
}
