// Baseline rows: the HTTP ceilings (raw node:http and express hello-worlds) and, when etcd is on
// PATH, a 3-member etcd: put via the leader and spread, range linearizable and serializable
// (spread), delete via the leader.

import { startHello } from '../baselines.ts';
import { EtcdCluster, etcdVersion } from '../etcd.ts';
import { measure, type Row, type Seq } from '../measure.ts';
import type { Options } from '../options.ts';
import { progress } from '../progress.ts';

export const RAW = 'raw node:http hello';
export const EXPRESS = 'express hello';
export const ETCD_PUT_LEADER = 'put via leader';
export const ETCD_PUT_SPREAD = 'put spread';
export const ETCD_RANGE_LIN = 'range linearizable';
export const ETCD_RANGE_SER = 'range serializable';
export const ETCD_DELETE = 'delete via leader';

export async function httpCeilings(opts: Options, seq: Seq, rows: Row[]): Promise<void> {
  for (const [kind, name] of [['raw', RAW], ['express', EXPRESS]] as const) {
    progress.step(`starting the ${name} server`);
    const h = await startHello(kind);
    try {
      for (const c of opts.concurrency) rows.push(await measure(opts, seq, { system: 'baseline', scenario: name, targets: [h.target], concurrency: c, pids: [h.pid] }));
    } finally {
      h.stop();
    }
  }
}

/** Returns etcd's version, or undefined (with a note) when the etcd rows were skipped. */
export async function etcdRows(opts: Options, seq: Seq, rows: Row[], notes: string[]): Promise<string | undefined> {
  const version = opts.etcd ? etcdVersion() : undefined;
  if (!version) {
    notes.push(opts.etcd ? 'etcd rows skipped: `etcd` is not on PATH (apt-get install etcd-server)' : 'etcd rows skipped (--no-etcd)');
    return undefined;
  }
  progress.step('starting a 3-member etcd');
  const e = new EtcdCluster();
  try {
    await e.start(3);
    const leader = e.origin((await e.leaderIndex())!);
    const pids = e.pids();
    const KEYS = 1000;
    // Keys the range rows read.
    await measure(opts, seq, { system: 'etcd', scenario: 'setup', targets: [e.put(leader, 'read/')], concurrency: 16, pids, offsets: [0], requests: KEYS });
    const putLeader = new Map<number, Row>();
    for (const c of opts.concurrency) {
      const row = await measure(opts, seq, { system: 'etcd', scenario: ETCD_PUT_LEADER, targets: [e.put(leader, 'k/')], concurrency: c, pids });
      putLeader.set(c, row);
      rows.push(row);
    }
    for (const c of opts.concurrency) rows.push(await measure(opts, seq, { system: 'etcd', scenario: ETCD_PUT_SPREAD, targets: e.origins.map((o) => e.put(o, 'k/')), concurrency: c, pids }));
    for (const c of opts.concurrency) rows.push(await measure(opts, seq, { system: 'etcd', scenario: ETCD_RANGE_LIN, targets: e.origins.map((o) => e.range(o, 'read/', KEYS, false)), concurrency: c, pids }));
    for (const c of opts.concurrency) rows.push(await measure(opts, seq, { system: 'etcd', scenario: ETCD_RANGE_SER, targets: e.origins.map((o) => e.range(o, 'read/', KEYS, true)), concurrency: c, pids }));
    for (const c of opts.concurrency) {
      const put = putLeader.get(c)!;
      // Each round deletes the keys the same round of that row put.
      rows.push(await measure(opts, seq, { system: 'etcd', scenario: ETCD_DELETE, targets: [e.deleteRange(leader, 'k/')], concurrency: c, pids, offsets: put.rounds.map((r) => r.offset) }));
    }
  } finally {
    e.stop();
  }
  return version;
}
