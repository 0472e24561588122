// A 3-node cluster of real processes: writes through every node; SIGKILL the leader during a
// stream of writes; a new leader is elected; after the old leader restarts, every acknowledged
// write is on every node.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;
const ids = ['n1', 'n2', 'n3'];

describe('cluster of real processes', { timeout: 120_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('elects, writes through every node, survives SIGKILL of the leader mid-stream', async () => {
    const peers = await c.bootstrap(ids);
    const first = await c.leader(ids);

    // Write through every node (followers forward to the leader) and read our own write there.
    for (const id of ids) {
      const r = await fetch(c.url(id, `/kv/hello-${id}?id=w-${id}`), { method: 'PUT', body: `from ${id}` });
      assert.equal(r.status, 200, await r.clone().text());
      const g = (await (await fetch(c.url(id, `/kv/hello-${id}`))).json()) as { value: string };
      assert.equal(g.value, `from ${id}`, 'read-your-writes at the node written to');
    }

    // A stream of writes through the followers; the leader is killed in the middle.
    const acked: string[] = [];
    const others = ids.filter((i) => i !== first);
    let stop = false;
    const writers = others.map(async (id) => {
      for (let k = 0; !stop; k++) {
        const key = `s-${id}-${k}`;
        try {
          const r = await fetch(c.url(id, `/kv/${key}?id=${key}`), { method: 'PUT', body: key, signal: AbortSignal.timeout(5000) });
          if (r.status === 200) acked.push(key);
        } catch {
          // not acknowledged: may or may not have committed
        }
      }
    });
    await new Promise((r) => setTimeout(r, 700));
    await c.kill(first, 'SIGKILL');
    const second = await c.leader(others);
    assert.notEqual(second, first);
    await new Promise((r) => setTimeout(r, 700));
    stop = true;
    await Promise.all(writers);
    assert.ok(acked.length > 5, `${acked.length} writes acknowledged`);

    c.start(first, { MUSTER_PEERS: peers });
    await c.until('old leader back', async () => ((await c.health(first))?.status === 200 ? true : undefined));
    for (const id of ids) {
      for (const key of acked) {
        const v = await c.until(`${key} on ${id}`, async () => {
          const r = (await (await fetch(c.url(id, `/kv/${key}`))).json()) as { value: string | null };
          return r.value === key ? r.value : undefined;
        });
        assert.equal(v, key);
      }
    }
  });
});
