// Scripted scenarios for some of the test-only mutations: every check below passes on the real
// core and fails on the mutated one. The simulator catches all fifteen too (test/sim/mutations.ts);
// these stay as direct checks of each rule in the situation it was written for:
// keepSuffixByDurableOnly here is the case (a stale-term truncating append and a newer
// leader's one-chunk snapshot in one Ready: the mutated core keeps a suffix that followed another
// entry) — the simulator's `compaction` profile catches the opposite case (an append's entries
// not yet durable, dropped by the install although acknowledged); followerCommitToLastIndex here
// commits a stale tail — with correct leaders that cannot happen (README, "Mutations"), the
// simulator catches the broken rule itself.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from '../../src/consensus/crc32.ts';
import type { ConsensusError } from '../../src/consensus/errors.ts';
import { MemoryStorage } from '../../src/consensus/memory-storage.ts';
import { RaftCore, type Mutations } from '../../src/consensus/raft.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import type { Entry, Message, SnapshotMeta } from '../../src/consensus/types.ts';
import { Waiters } from '../../src/consensus/waiters.ts';
import { Scenario } from '../support/scenario.ts';

const voters = ['n1', 'n2', 'n3'];
const normal = (index: number, term: number): Entry => ({ index, term, type: 'normal', data: new Uint8Array([index, term]) });
const boot: Entry = { index: 1, term: 1, type: 'conf', change: { type: 'bootstrap', voters, addresses: {} } };

/** A follower n3 at `term` whose durable log is `entries` (after the bootstrap entry). */
async function follower(term: number, entries: Entry[], mutations: Mutations): Promise<RaftCore> {
  const storage = new MemoryStorage();
  await storage.persist({ hardState: { term, vote: null, commit: 1 }, entries: [boot, ...entries], snapshotOps: [] });
  return new RaftCore({ id: 'n3', storage, applied: 1, rand: new SeededRand(3), mutations });
}

/** Each check returns a violation, or undefined when the rule held. */
const checks: Record<string, (m: Mutations) => Promise<string | undefined> | string | undefined> = {
  noAckWithdrawalOnTruncate(mutations) {
    const s = new Scenario(voters, { mutations });
    s.campaign('n1');
    s.heartbeat();
    s.isolate('n1');
    s.propose('n1', 'old'); // 3/2 on n1 only
    const n3 = s.core('n3');
    n3.step({ type: 'app', from: 'n1', to: 'n3', term: 2, index: 2, logTerm: 2, entries: s.core('n1').log.slice(3, 4, 1, 1 << 20)!, commit: 2 });
    n3.step({ type: 'app', from: 'n2', to: 'n3', term: 3, index: 2, logTerm: 2, entries: [{ index: 3, term: 3, type: 'normal' }], commit: 2 });
    const stale = n3.ready().persistedMessages.filter((m) => m.type === 'appResp' && !m.reject && m.to === 'n1');
    return stale.length > 0 ? `n3 acknowledges 3/2 to n1 after truncating it in the same Ready` : undefined;
  },

  async keepSuffixByDurableOnly(mutations) {
    // Durable 3/2 matches the snapshot, but a stale-term append in the same Ready replaced 3..4.
    const core = await follower(3, [normal(2, 2), normal(3, 2), normal(4, 2)], mutations);
    core.step({ type: 'app', from: 'n1', to: 'n3', term: 3, index: 2, logTerm: 2, entries: [normal(3, 3), normal(4, 3)], commit: 1 });
    const image = new TextEncoder().encode('image');
    const meta: SnapshotMeta = { id: 's', index: 3, term: 2, conf: { voters, learners: [], addresses: {} }, size: image.length, checksum: crc32(image) };
    core.step({ type: 'snap', from: 'n2', to: 'n3', term: 4, snap: { meta, offset: 0, done: true, data: image } });
    const t4 = core.log.term(4);
    return t4 !== undefined ? `after installing (3, 2) n3 keeps 4/${t4}, which followed 3/3 in another log (log matching)` : undefined;
  },

  readConfirmedByEarlierRound(mutations) {
    const s = new Scenario(voters, { mutations });
    s.campaign('n1');
    s.heartbeat(2);
    // A heartbeat round leaves; its acknowledgements are slow.
    s.tick('n1');
    s.deliverOnce(); // round delivered to n2, n3; their acknowledgements are queued
    const lateAcks = s.queue.filter((m) => m.type === 'heartbeatResp');
    s.queue = s.queue.filter((m) => m.type !== 'heartbeatResp');
    // A read arrives now; its own round is lost.
    s.core('n1').readIndex('r');
    s.process(s.node('n1'));
    s.queue = [];
    // The acknowledgements of the EARLIER round arrive.
    s.queue.push(...lateAcks);
    s.stabilize();
    const served = s.node('n1').readStates.find((r) => r.context === 'r');
    return served ? 'a read was confirmed by acknowledgements of a round sent before it arrived' : undefined;
  },

  leaderCountsUndurable(mutations) {
    const s = new Scenario(voters, { mutations });
    s.campaign('n1');
    s.heartbeat();
    const n1 = s.core('n1');
    const [{ index }] = n1.propose([new Uint8Array([1])]) as [{ index: number; term: number }];
    // n2 acknowledges before n1's own write of the entry is durable (a pipelining driver).
    n1.step({ type: 'appResp', from: 'n2', to: 'n1', term: n1.term, index });
    return n1.log.committed >= index ? `n1 committed ${index} with its own copy not durable` : undefined;
  },

  outcomeByIndexOnly(mutations) {
    const w = new Waiters(mutations.outcomeByIndexOnly === true);
    let outcome = 'pending';
    w.addProposal(5, { term: 2, deadline: 100, resolve: () => (outcome = 'committed'), reject: (e: ConsensusError) => (outcome = e.code) });
    w.applied(5, 3, null); // another entry took index 5
    return outcome === 'committed' ? 'a proposal of term 2 was reported committed when 5/3 was applied' : undefined;
  },

  async followerCommitToLastIndex(mutations) {
    // n3 holds 2..3 of term 2 and a stale tail 4..5 of term 2 (never committed); the leader of
    // term 3 matches it at 3 with a one-entry append and its commit is at 4 (its own 4/3).
    const core = await follower(3, [normal(2, 2), normal(3, 2), normal(4, 2), normal(5, 2)], mutations);
    const app: Message = { type: 'app', from: 'n1', to: 'n3', term: 3, index: 2, logTerm: 2, entries: [normal(3, 2)], commit: 4 };
    core.step(app);
    return core.log.committed > 3 ? `n3 committed ${core.log.committed}, beyond the last entry it matched (3): its 4/2 is not the leader's` : undefined;
  },
};

describe('mutations caught by scripted scenarios', () => {
  for (const [name, check] of Object.entries(checks)) {
    it(`${name}: the rule holds, and the mutation breaks it`, async () => {
      assert.equal(await check({}), undefined);
      const v = await check({ [name]: true });
      assert.ok(v, `${name} went unnoticed`);
    });
  }
});
