// Scripted scenarios: a slow follower after compaction is caught up by a chunked snapshot.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/consensus/types.ts';
import { SNAPSHOT_STALL_ELECTIONS } from '../../src/consensus/step-leader.ts';
import { Scenario } from '../support/scenario.ts';

const chunksTo = (s: Scenario, to: string, since = 0) =>
  s.delivered
    .slice(since)
    .filter((d) => d.includes(`->${to} snap `))
    .map((d) => /(\S+) @\d+\/\d+ off (\d+)/.exec(d)!)
    .map((m) => `${m[1]}@${m[2]}`);

/** n1 leads; n3 is cut off while 40 entries commit; n1 snapshots and compacts its whole log. */
function slowFollowerAfterCompaction(): Scenario {
  const s = new Scenario(['n1', 'n2', 'n3'], { snapshotChunkBytes: 64 });
  s.campaign('n1');
  s.heartbeat();
  s.isolate('n3');
  for (let i = 0; i < 40; i++) s.propose('n1', `value-${i}`);
  s.stabilize();
  s.heartbeat();
  s.snapshot('n1');
  assert.equal(s.core('n1').log.firstIndex(), s.core('n1').log.committed + 1, 'n1 compacted everything it applied');
  return s;
}

describe('snapshots', () => {
  it('a slow follower after compaction is caught up by a chunked snapshot', () => {
    const s = slowFollowerAfterCompaction();
    s.heal();
    s.heartbeat(20);
    const n1 = s.node('n1');
    const n3 = s.node('n3');
    assert.equal(n3.appliedIndex, n1.appliedIndex);
    assert.deepEqual(n3.applied, n1.applied);
    const chunks = chunksTo(s, 'n3');
    assert.ok(chunks.length > 3, `sent in ${chunks.length} chunks`);
    assert.equal(n3.storage.snapshot()?.index, n1.storage.snapshot()?.index, 'n3 keeps the installed snapshot');
    // Afterwards n3 follows by appends again.
    s.propose('n1', 'after');
    s.heartbeat(2);
    assert.equal(n3.applied.at(-1), 'after');
  });

  it('a lost chunk is resent and the transfer resumes from the acknowledged offset', () => {
    const s = slowFollowerAfterCompaction();
    let dropped = false;
    s.dropIf = (m: Message) => {
      if (dropped || m.type !== 'snap' || m.snap!.offset !== 128) return false;
      dropped = true;
      return true;
    };
    s.heal();
    s.heartbeat(30);
    assert.ok(dropped);
    const offs = chunksTo(s, 'n3').map((c) => Number(c.split('@')[1]));
    assert.equal(offs.filter((o) => o === 0).length, 1, 'never restarted at 0');
    assert.ok(offs.indexOf(128) > offs.indexOf(64), 'resent at 128 after the loss');
    assert.equal(s.node('n3').appliedIndex, s.node('n1').appliedIndex);
  });

  it('a chunk of another snapshot mid-transfer discards the partial image and the transfer restarts at 0', () => {
    const s = slowFollowerAfterCompaction();
    // Hold back a chunk of the current image and deliver it once n1 is sending a newer one.
    let held: Message | undefined;
    s.dropIf = (m: Message) => {
      if (!held && m.type === 'snap' && m.snap!.offset === 64) {
        held = m;
        return true;
      }
      return false;
    };
    s.heal();
    s.heartbeat(1);
    assert.ok(held, 'a chunk of the first image is held back');
    s.dropIf = undefined;
    // n3 is cut off long enough for the transfer to be abandoned (its image unpinned) while the
    // leader moves on: newer snapshots evict that image, so the next transfer starts over.
    s.isolate('n3');
    const first = s.core('n1').pinnedImages()[0];
    const stall = () => {
      for (let t = 0; t < SNAPSHOT_STALL_ELECTIONS * s.core('n1').cfg.electionTicks; t++) {
        s.tick('n1');
        s.stabilize();
      }
    };
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 5; i++) s.propose('n1', `more-${round}-${i}`);
      s.stabilize();
      s.heartbeat();
      s.snapshot('n1');
    }
    stall(); // the stalled transfer is abandoned, and restarted with the newest image
    assert.notEqual(s.core('n1').pinnedImages()[0], first, 'the first image is no longer pinned');
    s.heal();
    const newest = s.node('n1').storage.snapshot()!;
    const since = s.delivered.length;
    for (let i = 0; i < 100 && s.core('n3').staged?.meta.id !== newest.id; i++) {
      if (s.queue.length === 0) s.tick('n1');
      s.deliverOnce();
    }
    assert.equal(s.core('n3').staged?.meta.id, newest.id, 'n3 is staging the newest image');
    // The stale chunk (offset 64 of the first image) arrives in the middle of the new transfer.
    s.queue.push(held!);
    s.stabilize();
    assert.ok(s.delivered.slice(since).some((d) => d.startsWith('n3->n1 snapResp') && d.includes('REJECT')), 'n3 asks for a restart');
    s.heartbeat(40);
    assert.equal(s.node('n3').storage.snapshot()?.id, newest.id, 'n3 installed the newest image');
    const restarts = chunksTo(s, 'n3', since).filter((c) => c === `${newest.id}@0`).length;
    assert.ok(restarts >= 1, 'the newest image was sent again from offset 0');
    assert.deepEqual(s.node('n3').applied, s.node('n1').applied);
  });

  it('under sustained writes and frequent snapshots, the image in transfer stays pinned and the follower converges', () => {
    const s = new Scenario(['n1', 'n2', 'n3'], { snapshotChunkBytes: 16 });
    s.campaign('n1');
    s.heartbeat();
    s.isolate('n3');
    for (let i = 0; i < 40; i++) s.propose('n1', `value-${i}`);
    s.stabilize();
    s.heartbeat();
    s.snapshot('n1');
    s.heal();
    // Each round: a few writes, one message exchange, and a new snapshot (compacting the log),
    // so the transfer spans many snapshot intervals.
    let rounds = 0;
    for (; rounds < 400 && s.node('n3').storage.snapshot() === undefined; rounds++) {
      for (let i = 0; i < 3; i++) s.propose('n1', `w${rounds}-${i}`);
      s.tick('n1');
      s.deliverOnce();
      s.deliverOnce();
      s.snapshot('n1');
    }
    const restarts = chunksTo(s, 'n3').filter((c) => c.endsWith('@0')).length;
    assert.ok(s.node('n3').storage.snapshot() !== undefined, `n3 installed a snapshot (transfers started: ${restarts}, rounds: ${rounds})`);
    assert.equal(restarts, 1, 'one transfer, never restarted');
    s.heartbeat(20);
    assert.deepEqual(s.node('n3').applied, s.node('n1').applied, 'and then converges by appends');
    const images = (s.node('n1').storage.disk.visible.raft.images as Map<string, unknown>).size;
    assert.ok(images <= 2, `unpinned images are dropped again (${images} kept)`);
  });

  it('a snapshot at or below the follower commit index is ignored', () => {
    const s = new Scenario(['n1', 'n2', 'n3'], { snapshotChunkBytes: 1 << 20 });
    s.campaign('n1');
    for (let i = 0; i < 5; i++) s.propose('n1', `v${i}`);
    s.stabilize();
    s.heartbeat();
    const meta = s.snapshot('n1');
    const n3 = s.node('n3');
    const before = n3.storage.snapshot();
    s.queue.push({
      type: 'snap',
      from: 'n1',
      to: 'n3',
      term: s.core('n1').term,
      snap: { meta, offset: 0, done: true, data: s.node('n1').storage.readSnapshotChunk(meta.id, 0, meta.size)! },
    });
    s.stabilize();
    assert.equal(n3.storage.snapshot(), before, 'nothing installed');
    assert.ok(s.delivered.some((d) => d.startsWith('n3->n1 snapResp') && d.includes('DONE')));
  });
});
