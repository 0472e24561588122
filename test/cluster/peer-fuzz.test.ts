// Issue 9, bug 8: random batches that pass the wire schema, sent WITH the cluster token to every
// node of a running cluster, never take a node down. Messages that miss what their type needs are
// refused by the peer port (400); the rest reach the core, which refuses what it cannot use.
//
// The forged entries carry payloads the test state machine can decode (the state machine is not
// under test here); forged snapshot chunks carry random checksums, so no forged image installs.

import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SeededRand } from '../../src/consensus/rand.ts';
import { MessageType, type Entry, type Message } from '../../src/consensus/types.ts';
import { encodeBatch } from '../../src/http/peer-codec.ts';
import { encodeCommand } from '../support/kv-state-machine.ts';
import { ProcCluster } from '../support/processes.ts';

const ENTRY = new URL('./kv-server.ts', import.meta.url).pathname;
const ids = ['n1', 'n2', 'n3'];
const types = Object.values(MessageType);

function randomMessage(r: SeededRand, to: string): Message {
  const type = r.pick(types);
  const from = r.pick([...ids.filter((i) => i !== to), 'n9']);
  const term = 1 + r.int(12);
  const m: Message = { type, from, to, term };
  // Each optional field present with probability 1/2 (or always, in "plausible" messages).
  const plausible = r.chance(0.5);
  const maybe = () => plausible || r.chance(0.5);
  const nat = () => (r.chance(0.8) ? r.int(40) : r.int(1_000_000));
  if (maybe()) m.index = nat();
  if (maybe()) m.logTerm = r.int(term + 1);
  if (maybe()) m.commit = nat();
  if (maybe()) m.reject = r.chance(0.5);
  if (maybe()) m.rejectHint = nat();
  if (maybe()) m.conflictTerm = r.int(term + 1);
  if (maybe()) m.seq = nat();
  if (maybe()) m.transfer = r.chance(0.3);
  if (maybe()) m.context = `ctx-${r.int(5)}`;
  if (maybe()) m.snapId = `snap-${r.int(3)}`;
  if (maybe()) m.offset = r.int(64);
  if (maybe()) m.done = r.chance(0.5);
  if (maybe()) {
    const first = (m.index ?? 0) + 1;
    const n = r.int(4);
    const entries: Entry[] = [];
    let t = Math.max(1, m.logTerm ?? 1);
    for (let k = 0; k < n; k++) {
      t = Math.min(term, t + (r.chance(0.2) ? 1 : 0));
      const index = r.chance(0.9) ? first + k : nat();
      const conf = r.chance(0.15);
      entries.push(
        conf
          ? { index, term: t, type: 'conf', change: r.chance(0.5) ? { type: 'addLearner', node: `x${r.int(3)}` } : { type: 'remove', node: r.pick(['x0', 'x1', 'n9']) } }
          : { index, term: t, type: 'normal', ...(r.chance(0.7) ? { data: encodeCommand({ id: `fuzz-${r.int(1e9)}`, key: 'fuzz', value: 'v' }) } : {}) },
      );
    }
    m.entries = entries;
  }
  if (maybe()) {
    const size = r.int(64);
    const offset = r.int(size + 1);
    const len = r.int(size - offset + 1);
    m.snap = {
      meta: { id: `snap-${r.int(3)}`, index: nat(), term: 1 + r.int(term), conf: { voters: ids, learners: [], addresses: {} }, size, checksum: r.int(2 ** 31) },
      offset,
      done: r.chance(0.5),
      data: new Uint8Array(len).map(() => r.int(256)),
    };
  }
  return m;
}

describe('peer port fuzz', { timeout: 180_000 }, () => {
  const c = new ProcCluster(ENTRY);
  after(() => c.shutdown());

  it('random schema-valid batches with the token keep every node up', async () => {
    await c.bootstrap(ids);
    await c.leader(ids);
    const cluster = c.clusterId(ids);
    const r = new SeededRand(Number(process.env.FUZZ_SEED ?? 9));
    const status = new Map<number, number>();
    for (let round = 0; round < 150; round++) {
      await Promise.all(
        ids.map(async (to) => {
          const batch = Array.from({ length: 1 + r.int(4) }, () => randomMessage(r, to));
          const res = await fetch(`http://127.0.0.1:${c.nodes.get(to)!.peerPort}/raft/messages`, {
            method: 'POST',
            headers: { 'content-type': 'application/msgpack', 'x-muster-token': c.token, 'x-muster-cluster': cluster },
            body: Buffer.from(encodeBatch(batch)),
          });
          await res.arrayBuffer();
          status.set(res.status, (status.get(res.status) ?? 0) + 1);
        }),
      );
    }
    assert.ok((status.get(204) ?? 0) > 20, `some batches reached the cores: ${JSON.stringify([...status])}`);
    assert.ok((status.get(400) ?? 0) > 20, `some batches were refused: ${JSON.stringify([...status])}`);
    await new Promise((res) => setTimeout(res, 1500));
    for (const id of ids) {
      const n = c.nodes.get(id)!;
      assert.equal(n.proc!.exitCode, null, `${id} is still running\n${c.dump()}`);
      const h = await c.health(id);
      assert.ok(h, `${id} answers its health check`);
    }
    // And the cluster still works: a write commits (after the forged terms settle).
    await c.until('a write to commit after the fuzz', async () => {
      for (const id of ids) {
        const res = await fetch(c.url(id, '/kv/after-fuzz?id=after-fuzz'), { method: 'PUT', body: 'ok', signal: AbortSignal.timeout(3000) }).catch(() => undefined);
        if (res?.status === 200) return true;
      }
      return undefined;
    }, 30_000);
  });
});
