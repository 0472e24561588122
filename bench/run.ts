// npm run bench — Muster, a 3-node cluster of real processes on loopback (src/main.ts,
// production settings, fresh data dirs), against its baselines in the same run: raw node:http and
// express hello-worlds (the HTTP ceilings) and, when `etcd` is on PATH, a 3-member etcd through its
// JSON gateway, all driven by the same closed-loop load generator. On a shared machine only the
// ratios mean much. Prints a table; writes everything as JSON to bench/results/ (git-ignored).
//
// Scenarios, each after a warm-up at every --concurrency: register via the leader and spread,
// list local and linearizable, deregister; then the cluster is filled to --instances (RSS per
// node before and after), a new node joins it, --beat-instances ephemeral instances beat every
// 5 s, and the leader is SIGKILLed during a register stream. Watch latency: 1,000 watchers
// (blocking queries, SSE, UDP push) while changes are made one at a time.
//
//   npm run bench [-- --quick] [--help for every flag]

import { cpus, loadavg, totalmem } from 'node:os';
import { cleanupAll, installSignalHandlers } from './cleanup.ts';
import { idleCpu } from './scenarios/idle.ts';
import { Seq, type Row } from './measure.ts';
import { Muster } from './muster.ts';
import { parseOptions } from './options.ts';
import { progress } from './progress.ts';
import { formatReport, writeResults, type Results } from './report.ts';
import { etcdRows, httpCeilings } from './scenarios/baselines.ts';
import { beatsScenario } from './scenarios/beats.ts';
import { failoverScenario } from './scenarios/failover.ts';
import { joinScenario } from './scenarios/join.ts';
import { fill, memoryResult } from './scenarios/memory.ts';
import { fillListServices, setupServices, throughputRows } from './scenarios/throughput.ts';
import { watchBench } from './watch.ts';

const opts = parseOptions(process.argv.slice(2));
installSignalHandlers();

const started = new Date();
const rows: Row[] = [];
const res: Results = {
  startedAt: started.toISOString(),
  options: opts,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemMiB: Math.round(totalmem() / 2 ** 20), loadavgAtStart: loadavg(), node: process.version, platform: `${process.platform} ${process.arch}` },
  rows,
  notes: [],
  errors: [],
};
const seq = new Seq();
const out = opts.out ?? new URL(`./results/${started.toISOString().replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')}.json`, import.meta.url).pathname;

/** Runs one scenario; a failure is recorded and the run goes on. */
async function attempt<T>(name: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    res.errors.push(`${name}: ${(e as Error).stack ?? String(e)}`.slice(0, 4000));
    return undefined;
  }
}

try {
  await attempt('HTTP ceilings', () => httpCeilings(opts, seq, rows));
  res.etcdVersion = await attempt('etcd', () => etcdRows(opts, seq, rows, res.notes));

  progress.step('starting a 3-node Muster cluster');
  const m = new Muster();
  try {
    await m.start(['n1', 'n2', 'n3']);
    let leader = await m.leader();
    const termAtStart = await m.term();
    await setupServices(opts, seq, m, leader);
    await m.settle();
    const rssEmpty = m.rss();
    res.idle = await idleCpu(m);
    await fillListServices(opts, seq, m, leader);
    await attempt('throughput', () => throughputRows(opts, seq, m, rows));
    leader = await m.leader();
    progress.step(`watch: ${opts.quick ? 300 : 1000} watchers`);
    res.watch = await attempt('watch', () =>
      watchBench({ nodes: ['n1', 'n2', 'n3'].map((id) => m.origin(id).replace('http://', '')), leader: m.origin(leader).replace('http://', ''), watchers: opts.quick ? 300 : 1000, changes: opts.quick ? 40 : 100, intervalMs: 50 }),
    );

    leader = await m.leader();
    const filled = await attempt('fill', () => fill(opts, seq, m, leader));
    if (filled) {
      res.memory = memoryResult(rssEmpty, filled, m.rss());
      res.join = await attempt('join', () => joinScenario(m, leader, filled.instances));
    }
    leader = await m.leader();
    res.beats = await attempt('beats', () => beatsScenario(opts, seq, m));
    leader = await m.leader();
    res.terms = { atStart: termAtStart, beforeFailover: await m.term() };
    res.failover = await attempt('failover', () => failoverScenario(opts, seq, m, leader));
  } finally {
    progress.step('stopping the cluster');
    m.stop();
  }
} catch (e) {
  res.errors.push(`run: ${(e as Error).stack ?? String(e)}`.slice(0, 4000));
} finally {
  cleanupAll();
  progress.clear();
}

res.finishedAt = new Date().toISOString();
const secs = (Date.parse(res.finishedAt) - started.getTime()) / 1000;
console.log(`muster bench${opts.quick ? ' --quick' : ''}: ${res.machine && (res.machine as { cpus: number }).cpus} cores, node ${process.version}, ${secs.toFixed(0)} s; ${opts.requests} requests per row (at least 4 per client) after a warm-up`);
console.log(formatReport(res));
writeResults(res, out);
console.log(`results: ${out}`);
if (res.errors.length) process.exitCode = 1;
