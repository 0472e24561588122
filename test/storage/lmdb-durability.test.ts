// The durability wrapper on LMDB: a 3-node cluster of production drivers on LMDB storage (wall
// clock, in-memory network). A mirror records what each node's storage made durable — updated
// only when a write's promise resolves — and the simulator's checker fails the test if any
// message leaves before the write it depends on (votes, append and chunk acknowledgements).
// Separately: persist() commits synchronously in an environment that syncs on commit.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RaftNode } from '../../src/consensus/driver.ts';
import type { Mutations } from '../../src/consensus/raft.ts';
import { MemoryNetwork } from '../../src/consensus/memory-network.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import { wallTimer } from '../../src/consensus/timer.ts';
import { LmdbStorage } from '../../src/storage/lmdb-storage.ts';
import { Checker } from '../sim/checker.ts';
import { DurableMirror } from '../support/durable-mirror.ts';
import { encodeCommand } from '../support/kv-state-machine.ts';
import { LmdbKv } from '../support/lmdb-kv.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('durability on LMDB', { timeout: 60_000 }, () => {
  it('persist() is durable when it returns: a synchronous commit in an environment that syncs on commit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'muster-flush-'));
    dirs.push(dir);
    const s = LmdbStorage.open({ path: dir, mapSize: 16 << 20 });
    const root = s.root as unknown as { overlappingSync: boolean; noSync?: boolean };
    assert.equal(root.overlappingSync, false, 'no overlapping sync: a commit returns only after its sync');
    assert.notEqual(root.noSync, true);
    await s.persist({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: [{ index: 1, term: 1, type: 'normal', data: new Uint8Array([7]) }], snapshotOps: [] });
    await s.persist({ hardState: { term: 1, vote: 'a', commit: 1 }, entries: [{ index: 2, term: 1, type: 'normal', data: new Uint8Array([8]) }], snapshotOps: [] });
    // Committed (and synced) when persist() resolved: a reader of the file sees both, in order.
    await s.close();
    const again = LmdbStorage.open({ path: dir, mapSize: 16 << 20 });
    assert.equal(again.lastIndex(), 2);
    assert.deepEqual(again.hardState(), { term: 1, vote: 'a', commit: 1 });
    await again.close();
  });

  it('no message leaves before the write it depends on is durable (3 nodes, elections, writes, snapshots)', async () => {
    const { checker, acked } = await runCluster({});
    assert.ok(acked >= 50, `${acked} writes acknowledged`);
    assert.deepEqual(checker.violations, []);
  });

  it('the wrapper catches a vote sent before it is durable on LMDB', async () => {
    const { checker } = await runCluster({ voteBeforePersist: true });
    assert.ok(checker.violations.some((v) => v.includes('before the vote was durable')), checker.violations.join('\n'));
  });
});

async function runCluster(mutations: Mutations): Promise<{ checker: Checker; acked: number }> {
  // The driver's tick timers are unref'd (a server keeps a process alive); here nothing else
  // may be pending while the nodes wait for a tick (a lost message, an election), so hold the
  // event loop open for the run.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    return await runClusterBody(mutations);
  } finally {
    clearInterval(keepAlive);
  }
}

async function runClusterBody(mutations: Mutations): Promise<{ checker: Checker; acked: number }> {
  const checker = new Checker();
  const ids = ['a', 'b', 'c'];
  const net = new MemoryNetwork(new SeededRand(3), (d, fn) => void setTimeout(fn, d), { drop: 0.02, duplicate: 0.02, minDelay: 0, maxDelay: 3 });
  const stores = new Map<string, DurableMirror>();
  net.onSend = (m) => checker.onSend(m, stores.get(m.from)!.mirror);
  const nodes = ids.map((id, i) => {
    const dir = mkdtempSync(join(tmpdir(), `muster-dur-${id}-`));
    dirs.push(dir);
    const lmdb = LmdbStorage.open({ path: dir, mapSize: 16 << 20 });
    const storage = new DurableMirror(lmdb);
    stores.set(id, storage);
    const node = new RaftNode({
      id,
      storage,
      stateMachine: new LmdbKv(lmdb.root),
      transport: net,
      timer: wallTimer,
      rand: new SeededRand(100 + i),
      tickMs: 10,
      snapshotEntries: 30,
      keepEntries: 2,
      raft: { electionTicks: 10, snapshotChunkBytes: 256, bootstrap: { voters: ids }, mutations },
    });
    void node.start();
    return node;
  });
  const leader = async () => {
    for (let i = 0; i < 500; i++) {
      const l = nodes.find((n) => n.status().role === 'leader');
      if (l) return l;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('no leader');
  };
  let acked = 0;
  for (let round = 0; round < 4; round++) {
    const L = await leader();
    const writes = Array.from({ length: 25 }, (_, k) => L.propose(encodeCommand({ id: `r${round}-${k}`, key: `k${k}`, value: `v${round}` })).then(() => acked++, () => {}));
    await Promise.all(writes);
    await L.transferLeader(ids.find((x) => x !== L.id)!).catch(() => {});
  }
  for (const n of nodes) await n.stop();
  for (const s of stores.values()) await (s.inner as LmdbStorage).close();
  return { checker, acked };
}
