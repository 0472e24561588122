// Issue 9, bug 7: two clusters' logs never merge. As a new user would: `npm start` (a
// single-node cluster n1), stop it, then a 3-node cluster whose n1 uses the same data dir.
// n1 keeps its own cluster id and refuses the new cluster's messages, loudly, naming both ids;
// n2 and n3 form their cluster; neither history gets anything of the other.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;
const ids = ['n1', 'n2', 'n3'];

const get = async (c: ProcCluster, id: string, key: string) =>
  ((await (await fetch(c.url(id, `/kv/${key}`))).json()) as { value: string | null }).value;

describe('cluster identity', { timeout: 120_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('a node whose data dir belongs to another cluster is refused, and both clusters keep their data', async () => {
    await c.define(ids);
    // 1. The single-node default: n1 alone (no peer list), one write, SIGTERM.
    c.start('n1', {});
    await c.leader(['n1']);
    const solo = await fetch(c.url('n1', '/kv/solo?id=solo'), { method: 'PUT', body: 'single-node' });
    assert.equal(solo.status, 200);
    assert.equal(await c.kill('n1', 'SIGTERM'), 0);

    // 2. A 3-node cluster n1, n2, n3; n1 comes back on the same data dir.
    const peers = c.peersEnv(ids);
    for (const id of ids) c.start(id, { MUSTER_PEERS: peers });
    const L = await c.leader(['n2', 'n3']);
    const w = await fetch(c.url(L, '/kv/three?id=three'), { method: 'PUT', body: 'three-node' });
    assert.equal(w.status, 200, await w.text());

    // n1 refuses the new cluster's messages, at error level, naming both ids.
    const refusal = await c.until('n1 to refuse the other cluster', async () => {
      const line = c.nodes.get('n1')!.log.join('').split('\n').find((l) => l.includes('REFUSED a peer request'));
      return line ? (JSON.parse(line) as { level: number; ourCluster: string; peerCluster: string }) : undefined;
    });
    assert.ok(refusal.level >= 50, 'logged at error level');
    assert.match(refusal.ourCluster, /^[0-9a-f]{16}$/);
    assert.match(refusal.peerCluster, /^[0-9a-f]{16}$/);
    assert.notEqual(refusal.ourCluster, refusal.peerCluster);
    // The leader says so too: n1 belongs to another cluster.
    await c.until('the leader to report n1 as of another cluster', async () =>
      c.nodes.get(L)!.log.join('').includes('belongs to cluster') ? true : undefined,
    );

    // n1 is still the leader of its own single-node cluster, with its own data only.
    await c.leader(['n1']); // it re-elects itself in its own single-node cluster
    assert.equal(await get(c, 'n1', 'solo'), 'single-node');
    assert.equal(await get(c, 'n1', 'three'), null, 'nothing of the other history on n1');
    // The cluster's data is intact and n1 never matched anything there.
    for (const id of ['n2', 'n3']) {
      await c.until(`${id} to apply the write`, async () => ((await get(c, id, 'three')) === 'three-node' ? true : undefined));
      assert.equal(await get(c, id, 'solo'), null, `nothing of n1's history on ${id}`);
    }
    const cl = (await (await fetch(c.url(L, '/muster/v1/cluster'))).json()) as { members: { id: string; match: number | null }[]; commitIndex: number };
    const m1 = cl.members.find((m) => m.id === 'n1')!;
    assert.ok((m1.match ?? 0) === 0, `the leader never counted n1's log (match ${m1.match})`);
  });
});
