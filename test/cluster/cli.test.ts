// The muster CLI against a running cluster.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;
const BIN = new URL('../../bin/muster.js', import.meta.url).pathname;
const muster = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('muster cluster CLI', { timeout: 120_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('shows the cluster, transfers leadership, and says what to do when it cannot help', async () => {
    const ids = ['n1', 'n2', 'n3'];
    await c.bootstrap(ids);
    const L = await c.leader(ids);
    const server = `127.0.0.1:${c.nodes.get(ids.find((i) => i !== L)!)!.httpPort}`;
    await c.until('followers know the leader', async () => ((await c.health(ids.find((i) => i !== L)!))?.status === 200 ? true : undefined));

    const st = muster('cluster', 'status', '--server', server);
    assert.equal(st.status, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`leader ${L}`));
    for (const id of ids) assert.match(st.stdout, new RegExp(`^${id}\\s+(leader|follower)`, 'm'));

    const to = ids.find((i) => i !== L)!;
    const tr = muster('cluster', 'transfer', to, '--server', server);
    assert.equal(tr.status, 0, tr.stderr);
    assert.equal(await c.leader(ids), to);

    const bad = muster('cluster', 'status', '--server', '127.0.0.1:9');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /cannot reach a Muster node at 127\.0\.0\.1:9.*is it running\?/);
    const usage = muster('cluster', 'frobnicate');
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /unknown cluster command/);
    // The peer port of a running node refuses requests without the token and garbage bodies,
    // and the node keeps serving.
    const peer = `http://127.0.0.1:${c.nodes.get(to)!.peerPort}/raft/messages`;
    assert.equal((await fetch(peer, { method: 'POST', body: new Uint8Array([1, 2, 3]) })).status, 401);
    const noCluster = await fetch(peer, { method: 'POST', headers: { 'x-muster-token': c.token }, body: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) });
    assert.equal(noCluster.status, 409, 'a request without the cluster id is refused');
    const garbage = await fetch(peer, { method: 'POST', headers: { 'x-muster-token': c.token, 'x-muster-cluster': c.clusterId(ids) }, body: new Uint8Array([0xde, 0xad, 0xbe, 0xef]) });
    assert.equal(garbage.status, 400);
    assert.equal((await c.health(to))?.status, 200, 'still serving');
    assert.equal(await c.leader(ids), to);

    const notVoter = muster('cluster', 'transfer', 'nobody', '--server', server);
    assert.equal(notVoter.status, 1);
    assert.match(notVoter.stderr, /INVALID: nobody is not a voter/);
  });
});
