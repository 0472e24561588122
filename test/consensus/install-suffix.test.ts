// Issue 9, bug 6: the core and the storage make ONE decision about keeping the log suffix at a
// snapshot install, the core's, carried in the install operation (keepTo).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from '../../src/consensus/crc32.ts';
import { MemoryStorage } from '../../src/consensus/memory-storage.ts';
import { RaftCore } from '../../src/consensus/raft.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import type { Entry, Message, SnapshotMeta } from '../../src/consensus/types.ts';

const voters = ['n1', 'n2', 'n3'];
const normal = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index, term]) });

/** n3 holds 1/t1 (bootstrap) and 2..5 of term 2 durably, at term 3. */
async function follower(): Promise<{ core: RaftCore; storage: MemoryStorage }> {
  const storage = new MemoryStorage();
  const boot: Entry = { index: 1, term: 1, type: 'conf', change: { type: 'bootstrap', voters, addresses: {} } };
  await storage.persist({ hardState: { term: 3, vote: null, commit: 1 }, entries: [boot, normal(2, 2), normal(3, 2), normal(4, 2), normal(5, 2)], snapshotOps: [] });
  const core = new RaftCore({ id: 'n3', storage, applied: 1, rand: new SeededRand(3) });
  return { core, storage };
}

describe('snapshot install and the log suffix', () => {
  it('a truncating stale-term append and a one-chunk snapshot in the same Ready leave core and storage with the same log', async () => {
    const { core, storage } = await follower();
    // The deposed leader of term 3 overwrites 3.. with its own entry (truncating 3..5)...
    const app: Message = { type: 'app', from: 'n1', to: 'n3', term: 3, index: 2, logTerm: 2, entries: [normal(3, 3)], commit: 1 };
    // ...and in the same Ready the leader of term 4 sends a snapshot at (3, term 2) in one chunk.
    const image = new TextEncoder().encode('image at 3');
    const meta: SnapshotMeta = { id: 's3', index: 3, term: 2, conf: { voters, learners: [], addresses: {} }, size: image.length, checksum: crc32(image) };
    const snap: Message = { type: 'snap', from: 'n2', to: 'n3', term: 4, snap: { meta, offset: 0, done: true, data: image } };
    core.step(app);
    core.step(snap);
    const lastBefore = core.log.lastIndex();
    const termBefore = core.log.lastTerm();
    assert.equal(lastBefore, 3, 'the core dropped the suffix: its log held 3/t3, not (3, 2)');
    const rd = core.ready();
    const install = rd.snapshotOps.find((o) => o.op === 'install');
    assert.ok(install && install.op === 'install' && install.keepTo === 3, 'the install carries the decision');
    await storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshotOps: rd.snapshotOps });
    core.advance(rd);
    assert.equal(storage.lastIndex(), 3, 'storage dropped the stale durable tail 4..5 too');
    assert.equal(storage.term(4), undefined);
    assert.equal(core.log.lastIndex(), lastBefore, 'the core reads back the log it decided on');
    assert.equal(core.log.lastTerm(), termBefore);
  });

  it('a suffix kept by the core survives in storage exactly (durable entries up to the unstable tail)', async () => {
    const { core, storage } = await follower();
    // The leader of term 3 agrees up to 4 and overwrites 5: the durable 5/t2 must go.
    const app: Message = { type: 'app', from: 'n1', to: 'n3', term: 3, index: 4, logTerm: 2, entries: [normal(5, 3)], commit: 1 };
    const image = new TextEncoder().encode('image at 3');
    const meta: SnapshotMeta = { id: 's3', index: 3, term: 2, conf: { voters, learners: [], addresses: {} }, size: image.length, checksum: crc32(image) };
    core.step(app);
    core.step({ type: 'snap', from: 'n1', to: 'n3', term: 3, snap: { meta, offset: 0, done: true, data: image } });
    const rd = core.ready();
    await storage.persist({ hardState: rd.hardState, entries: rd.entries, snapshotOps: rd.snapshotOps });
    core.advance(rd);
    assert.deepEqual([storage.firstIndex(), storage.lastIndex()], [4, 5]);
    assert.deepEqual([storage.term(4), storage.term(5)], [2, 3]);
    assert.deepEqual([core.log.lastIndex(), core.log.lastTerm()], [5, 3]);
  });
});
