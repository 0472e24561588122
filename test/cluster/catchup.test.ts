// Catch-up: a node stopped while the leader compacts past it returns and is caught up by a
// chunked snapshot (4 KiB chunks; killed once mid-transfer); a brand-new empty node joins with
// MUSTER_JOIN, catches up and becomes a voter.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;

describe('catch-up of real processes', { timeout: 180_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('a node behind the compacted log catches up by a chunked snapshot, even killed mid-transfer; a new node joins', async () => {
    const ids = ['n1', 'n2', 'n3'];
    await c.define([...ids, 'n4']);
    const conf = join(c.dir, 'small-snapshots.json');
    writeFileSync(conf, JSON.stringify({ raft: { snapshotEntries: 40, keepEntries: 5, snapshotChunkBytes: 4096 } }));
    const args = ['--config', conf];
    const peers = c.peersEnv(ids);
    for (const id of ids) c.start(id, { MUSTER_PEERS: peers }, args);
    await c.leader(ids);
    const leaderNotN3 = await c.leader(['n1', 'n2']).catch(async () => {
      const L = await c.leader(ids);
      const r = await fetch(c.url(L, '/muster/v1/cluster/leader'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'n1' }) });
      assert.equal(r.status, 200, await r.text());
      return 'n1';
    });
    await c.kill('n3', 'SIGKILL');
    // About 2 MB of state: hundreds of 4 KiB chunks, so the transfer takes a while.
    const big = 'x'.repeat(2000);
    const N = 1000;
    for (let k = 0; k < N; k += 50) {
      await Promise.all(
        Array.from({ length: 50 }, async (_, j) => {
          const r = await fetch(c.url(leaderNotN3, `/kv/key-${k + j}?id=k${k + j}`), { method: 'PUT', body: `${k + j}:${big}` });
          assert.equal(r.status, 200, await r.text());
        }),
      );
    }
    const status = (await (await fetch(c.url(leaderNotN3, '/muster/v1/cluster'))).json()) as { firstIndex: number; appliedIndex: number };
    assert.ok(status.firstIndex > 10, `the leader compacted its log (first index ${status.firstIndex})`);

    // n3 returns, is killed while the leader reports the snapshot transfer in progress, and
    // returns again.
    c.start('n3', { MUSTER_PEERS: peers }, args);
    await c.until('a snapshot transfer to n3', async () => {
      const s = (await (await fetch(c.url(leaderNotN3, '/muster/v1/cluster'))).json()) as { members: { id: string; state: string | null }[] };
      return s.members.find((m) => m.id === 'n3')?.state === 'snapshot' ? true : undefined;
    });
    await c.kill('n3', 'SIGKILL');
    c.start('n3', { MUSTER_PEERS: peers }, args);
    await c.until('n3 caught up', async () => {
      const h = await c.health('n3');
      return h && (h.body.appliedIndex as number) >= status.appliedIndex ? true : undefined;
    }, 60_000);
    for (const k of [0, 500, N - 1]) {
      const g = (await (await fetch(c.url('n3', `/kv/key-${k}`))).json()) as { value: string };
      assert.equal(g.value, `${k}:${big}`);
    }

    // A brand-new empty node joins through any member, catches up, and becomes a voter.
    c.start('n4', { MUSTER_JOIN: `127.0.0.1:${c.nodes.get('n2')!.httpPort}` }, args);
    await c.until('n4 a voter', async () => {
      const s = (await (await fetch(c.url(leaderNotN3, '/muster/v1/cluster'))).json()) as { members: { id: string; role: string }[] };
      const m = s.members.find((x) => x.id === 'n4');
      return m && m.role !== 'learner' ? true : undefined;
    }, 60_000);
    const g = (await (await fetch(c.url('n4', `/kv/key-${N - 1}?consistency=linearizable`))).json()) as { value: string };
    assert.equal(g.value, `${N - 1}:${big}`);
    // n4 started with an empty data dir and learned the cluster's id: it refuses another one.
    const other = await fetch(`http://127.0.0.1:${c.nodes.get('n4')!.peerPort}/raft/messages`, {
      method: 'POST',
      headers: { 'x-muster-token': c.token, 'x-muster-cluster': '0123456789abcdef' },
      body: new Uint8Array([0x90]),
    });
    assert.equal(other.status, 409);
    assert.equal(((await other.json()) as { clusterId: string }).clusterId, c.clusterId(['n1', 'n2', 'n3']), 'the id of the cluster it joined');
  });
});
