// A new empty node joins the cluster holding the filled registry: a 4th process with MUSTER_JOIN
// set to a follower's public address (the join is passed on to the leader); timed from its spawn
// until the leader's GET /muster/v1/cluster lists it as a voter. It is removed again afterwards.

import type { Muster } from '../muster.ts';
import { progress } from '../progress.ts';
import { rssKiB } from '../proc-stats.ts';

export interface JoinResult {
  instances: number;
  /** Spawn → listed as a voter by the leader, s (undefined: not within the bound). */
  voterSecs: number | undefined;
  /** Spawn → its applied index reached the leader's commit index at spawn, s. */
  caughtUpSecs: number | undefined;
  targetSecs: number;
  rssKiB: number | undefined;
  removed: boolean;
  error?: string;
}

interface ClusterView {
  leader: string | null;
  commitIndex: number;
  members: { id: string; role: string }[];
}

const BOUND_MS = 120_000;

export async function joinScenario(m: Muster, leader: string, instances: number): Promise<JoinResult> {
  const id = 'n4';
  const via = m.ids.find((i) => i !== leader)!;
  const res: JoinResult = { instances, voterSecs: undefined, caughtUpSecs: undefined, targetSecs: 15, rssKiB: undefined, removed: false };
  const { commitIndex } = await m.json<ClusterView>(leader, '/muster/v1/cluster');
  await m.c.define([id]);
  progress.step(`a new node joins a cluster holding ${instances} instances`);
  const t0 = performance.now();
  m.c.start(id, { MUSTER_JOIN: `127.0.0.1:${m.c.nodes.get(via)!.httpPort}` });
  const secs = () => (performance.now() - t0) / 1000;
  try {
    while (performance.now() - t0 < BOUND_MS && (res.voterSecs === undefined || res.caughtUpSecs === undefined)) {
      if (res.voterSecs === undefined) {
        const v = await m.json<ClusterView>(leader, '/muster/v1/cluster').catch(() => undefined);
        const me = v?.members.find((x) => x.id === id);
        if (me && me.role !== 'learner') res.voterSecs = secs();
      }
      if (res.caughtUpSecs === undefined) {
        const h = await m.c.health(id);
        if (h && (h.body.appliedIndex as number) >= commitIndex) res.caughtUpSecs = secs();
      }
      progress.update(Math.floor(secs()));
      await new Promise((r) => setTimeout(r, 50));
    }
    res.rssKiB = rssKiB(m.pid(id));
    if (res.voterSecs === undefined) res.error = `not a voter after ${BOUND_MS / 1000} s\n${m.c.dump().slice(-3000)}`;
  } finally {
    // Back to three nodes for the scenarios that follow.
    progress.step('removing the joined node');
    const r = await fetch(m.c.url(leader, `/muster/v1/cluster/nodes/${id}`), { method: 'DELETE', signal: AbortSignal.timeout(15_000) }).catch(() => undefined);
    res.removed = r?.ok === true;
    await m.c.kill(id);
  }
  return res;
}
