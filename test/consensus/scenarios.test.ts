// Scripted scenarios: each test is one behaviour of DESIGN.md §3, told as a story.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/consensus/types.ts';
import { Scenario } from '../support/scenario.ts';

const rejects = (s: Scenario, from: string, to: string, since: number) =>
  s.delivered.slice(since).filter((d) => d.startsWith(`${from}->${to} appResp`) && d.includes('REJECT')).length;

describe('election', () => {
  it('a candidate wins with a majority and commits an empty entry of its term', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    assert.equal(s.core('n1').role, 'leader');
    assert.equal(s.core('n1').term, 2);
    for (const id of ['n2', 'n3']) assert.equal(s.core(id).lead, 'n1');
    s.heartbeat();
    for (const id of ['n1', 'n2', 'n3']) {
      assert.equal(s.core(id).log.committed, 2, `${id} commits the empty entry`);
      assert.equal(s.core(id).log.term(2), 2);
    }
  });

  it('a candidate without a majority does not become leader', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.isolate('n1');
    s.campaign('n1');
    assert.notEqual(s.core('n1').role, 'leader');
    assert.equal(s.core('n1').term, 1, 'a failed pre-vote does not raise the term');
  });

  it("a partitioned node's pre-vote does not disturb a healthy leader when it rejoins", () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.isolate('n3');
    s.tick('n3', 60); // n3 times out again and again, but only pre-campaigns
    assert.equal(s.core('n3').term, 2, 'pre-vote changed no term');
    s.heal();
    s.stabilize(); // its queued pre-votes arrive at voters that hear from the leader: ignored
    s.heartbeat(3);
    assert.equal(s.core('n1').role, 'leader');
    assert.equal(s.core('n1').term, 2);
    assert.equal(s.core('n3').role, 'follower');
    assert.equal(s.core('n3').lead, 'n1');
  });

  it('a leader isolated from the majority steps down (check-quorum)', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.isolate('n1');
    s.tick('n1', 10);
    assert.equal(s.core('n1').role, 'leader', 'one election timeout: the first check still sees the old activity');
    s.tick('n1', 10);
    assert.equal(s.core('n1').role, 'follower');
    assert.equal(s.core('n1').lead, null);
  });

  it('a node answers a stale-term leader with its term, and the stale leader steps down', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.isolate('n1');
    const newLeader = s.electAmong(['n2', 'n3']);
    s.heal();
    s.tick('n1'); // n1 still believes it leads: its heartbeat carries the old term
    s.stabilize();
    assert.equal(s.core('n1').role, 'follower');
    assert.equal(s.core('n1').term, newLeader.core.term);
  });
});

describe('replication', () => {
  it('a follower with a long conflicting suffix is repaired in few round trips', () => {
    const s = new Scenario(['n1', 'n2', 'n3'], { maxEntriesPerMsg: 1000 });
    s.campaign('n3');
    s.heartbeat();
    s.isolate('n3');
    for (let i = 0; i < 50; i++) s.propose('n3', `stale-${i}`); // term 2, never replicated
    const L = s.electAmong(['n1', 'n2']);
    for (let i = 0; i < 50; i++) s.propose(L.id, `new-${i}`);
    s.stabilize();
    // A newer leader starts every follower at its own last index + 1: n3 looks 50 entries ahead.
    const other = L.id === 'n1' ? 'n2' : 'n1';
    L.core.transferLeader(other);
    s.process(L);
    s.stabilize();
    assert.equal(s.core(other).role, 'leader');
    s.heal();
    const since = s.delivered.length;
    s.heartbeat(2);
    const leader = s.node(other);
    assert.equal(s.core('n3').log.lastIndex(), leader.core.log.lastIndex());
    for (let i = 1; i <= leader.core.log.lastIndex(); i++) assert.equal(s.core('n3').log.term(i), leader.core.log.term(i));
    const n = rejects(s, 'n3', other, since);
    assert.ok(n >= 1 && n <= 2, `repaired with ${n} rejections (50 conflicting entries)`);
  });

  it('an acknowledgement is withdrawn when a later append in the same batch truncates the entry', () => {
    // Found by the simulator (seed 3186): a follower acknowledged an entry of the old leader,
    // then, in the same Ready, the new leader's append replaced it; the stale acknowledgement
    // must not leave, or the old leader could count it toward committing the lost entry.
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    s.isolate('n1');
    s.propose('n1', 'old'); // 3/2, on n1 only
    const fromOld: Message = { type: 'app', from: 'n1', to: 'n3', term: 2, index: 2, logTerm: 2, entries: s.core('n1').log.slice(3, 4, 1, 1 << 20)!, commit: 2 };
    const fromNew: Message = { type: 'app', from: 'n2', to: 'n3', term: 3, index: 2, logTerm: 2, entries: [{ index: 3, term: 3, type: 'normal' }], commit: 2 };
    const n3 = s.core('n3');
    n3.step(fromOld);
    n3.step(fromNew);
    const rd = n3.ready();
    const acks = rd.persistedMessages.filter((m) => m.type === 'appResp' && !m.reject);
    assert.deepEqual(acks.map((m) => `${m.to}:${m.index}`), ['n2:3'], 'only the new leader hears an acknowledgement of 3');
    assert.deepEqual(rd.entries.map((e) => `${e.index}/${e.term}`), ['3/3']);
  });

  it('an entry of a previous term is not committed by counting replicas (Figure 8)', () => {
    const s = figure8(false);
    // n1 (term 4) replicated its term-2 entry at 3 to n3: a majority holds it, yet it is not committed.
    assert.equal(s.core('n1').log.term(3), 2);
    assert.equal(s.core('n3').log.term(3), 2);
    assert.ok(s.core('n1').log.committed < 3);
    // n1 dies; n2 (last entry 3/3) learns of term 4, wins term 5 and overwrites index 3:
    // nothing committed was lost.
    s.kill('n1');
    n2TakesOver(s);
    s.heartbeat(2);
    assert.equal(s.core('n2').role, 'leader');
    assert.equal(s.core('n3').log.term(3), 3);
  });

  it('the Figure 8 mutation (commit by counting) loses a committed entry', () => {
    const s = figure8(true);
    assert.ok(s.core('n1').log.committed >= 3, 'the broken leader commits 3/2 by counting replicas');
    assert.equal(s.core('n1').log.term(3), 2);
    s.kill('n1');
    n2TakesOver(s);
    assert.equal(s.core('n2').role, 'leader');
    assert.ok(s.core('n2').log.committed >= 3);
    assert.equal(s.core('n2').log.term(3), 3, 'the new leader commits a different entry at index 3');
  });
});

/** n2, still leading term 3 unaware, hears of term 4 from n3, then wins term 5 with n3's vote. */
function n2TakesOver(s: Scenario): void {
  s.tick('n2');
  s.stabilize();
  assert.equal(s.core('n2').role, 'follower');
  s.campaign('n2');
  s.heartbeat(2);
}

/** Raft paper Figure 8, on three nodes. Returns with n1 leading term 4, its term-2 entry at
 * index 3 on n1 and n3, its own empty entry (4/4) not yet on n3. */
function figure8(mutated: boolean): Scenario {
  const s = new Scenario(['n1', 'n2', 'n3'], {
    preVote: false,
    checkQuorum: false,
    maxEntriesPerMsg: 1,
    mutations: { commitPrevTermByCount: mutated },
  });
  s.campaign('n1'); // term 2; empty entry 2/2 everywhere
  s.heartbeat();
  s.isolate('n1');
  s.propose('n1', 'a'); // 3/2 on n1 only
  s.heal();
  s.isolate('n1');
  // n2 wins term 3 with n3's vote, but its empty entry 3/3 reaches nobody.
  s.dropIf = (m: Message) => m.from === 'n2' && m.type === 'app';
  s.campaign('n2');
  assert.equal(s.core('n2').role, 'leader');
  assert.equal(s.core('n2').term, 3);
  s.dropIf = undefined;
  s.heal();
  s.isolate('n2');
  // n1, still leading term 2, sends a heartbeat; n3 answers with term 3 and n1 steps down.
  s.tick('n1');
  s.stabilize();
  assert.equal(s.core('n1').role, 'follower');
  assert.equal(s.core('n1').term, 3);
  // n1 wins term 4 with n3's vote (its last entry 3/2 is newer than n3's 2/2); its own empty
  // entry 4/4 does not reach n3.
  s.dropIf = (m: Message) => m.from === 'n1' && m.type === 'app' && m.index === 3 && s.core('n3').log.term(3) === 2;
  s.campaign('n1');
  assert.equal(s.core('n1').role, 'leader');
  assert.equal(s.core('n1').term, 4);
  s.heartbeat();
  s.dropIf = undefined;
  s.heal();
  return s;
}
