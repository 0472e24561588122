// Scripted scenarios: learners, promotion, removal, leader transfer, and reads on a deposed leader.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusError } from '../../src/consensus/errors.ts';
import type { ConfChange } from '../../src/consensus/types.ts';
import { Scenario } from '../support/scenario.ts';

function expectCode(fn: () => unknown, code: string): ConsensusError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConsensusError, `expected a ConsensusError, got ${e}`);
    assert.equal(e.code, code, (e as Error).message);
    return e;
  }
  assert.fail(`expected ${code}`);
}

function change(s: Scenario, leader: string, cc: ConfChange) {
  const r = s.core(leader).proposeConfChange(cc);
  s.process(s.node(leader));
  s.stabilize();
  s.heartbeat();
  return r;
}

/** n1 hands leadership to n2; returns n2 as soon as it leads, before its empty entry commits. */
function newLeaderBeforeItsFirstCommit(s: Scenario) {
  s.core('n1').transferLeader('n2');
  s.process(s.node('n1'));
  const n2 = s.core('n2');
  for (let i = 0; i < 10 && n2.role !== 'leader'; i++) s.deliverOnce();
  assert.equal(n2.role, 'leader');
  assert.ok(!n2.committedInTerm(), 'its empty entry is not committed yet');
  return n2;
}

/** n1 leads a 3-node cluster with 30 entries; n4 joins as a learner and is caught up. */
function withCaughtUpLearner(): Scenario {
  const s = new Scenario(['n1', 'n2', 'n3'], { catchUpMargin: 5 });
  s.campaign('n1');
  for (let i = 0; i < 30; i++) s.propose('n1', `v${i}`);
  s.stabilize();
  s.add('n4'); // empty data dir, no configuration: a joining node
  change(s, 'n1', { type: 'addLearner', node: 'n4', address: '127.0.0.1:8878:7878' });
  s.heartbeat(3);
  return s;
}

describe('membership', () => {
  it('a joining node never campaigns before it knows a configuration', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    const n4 = s.add('n4');
    s.tick('n4', 100);
    assert.equal(n4.core.role, 'follower');
    assert.equal(n4.core.term, 0);
  });

  it('a learner catches up and is promoted', () => {
    const s = new Scenario(['n1', 'n2', 'n3'], { catchUpMargin: 5 });
    s.campaign('n1');
    for (let i = 0; i < 30; i++) s.propose('n1', `v${i}`);
    s.stabilize();
    const n4 = s.add('n4');
    s.isolate('n4');
    change(s, 'n1', { type: 'addLearner', node: 'n4', address: '127.0.0.1:8878:7878' });
    assert.deepEqual(s.core('n1').conf.learners, ['n4']);
    assert.equal(s.core('n1').conf.addresses.n4, '127.0.0.1:8878:7878');
    expectCode(() => s.core('n1').proposeConfChange({ type: 'promote', node: 'n4' }), 'NOT_CAUGHT_UP');
    s.heal();
    s.heartbeat(3);
    assert.equal(n4.appliedIndex, s.node('n1').appliedIndex, 'the learner caught up');
    assert.deepEqual(n4.core.conf.learners, ['n4'], 'and learned the configuration from the log');
    s.tick('n4', 50);
    assert.equal(n4.core.role, 'follower', 'a learner never campaigns');
    change(s, 'n1', { type: 'promote', node: 'n4' });
    for (const id of ['n1', 'n2', 'n3', 'n4']) assert.deepEqual(s.core(id).conf.voters, ['n1', 'n2', 'n3', 'n4'], id);
    assert.deepEqual(s.core('n1').conf.learners, []);
  });

  it("a promoted learner's vote elects a leader when the old leader dies before the learner learns of its promotion", () => {
    const s = withCaughtUpLearner();
    s.partition(['n1', 'n2', 'n3'], ['n4']);
    change(s, 'n1', { type: 'promote', node: 'n4' });
    assert.deepEqual(s.core('n2').conf.voters, ['n1', 'n2', 'n3', 'n4']);
    assert.deepEqual(s.core('n4').conf.voters, ['n1', 'n2', 'n3'], 'n4 has not heard of its promotion');
    s.kill('n1');
    s.heal();
    // Four voters, quorum three: n2 needs n3 and n4. n4 still thinks it is a learner, but it
    // answers vote requests by the normal rules.
    const since = s.delivered.length;
    // Everyone's lease on n1 runs out (n4 does not campaign: it believes it is a learner).
    s.tickUntil(['n2', 'n3', 'n4'], () => s.core('n2').role === 'leader' || s.core('n3').role === 'leader');
    const L = s.leader()!;
    assert.ok(s.delivered.slice(since).some((d) => d.startsWith(`n4->${L.id} voteResp`) && d.includes('GRANT')), "n4's vote counted");
  });

  it('a configuration change waits for a current-term commit and for the previous change to apply', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    s.add('n4');
    const n2 = newLeaderBeforeItsFirstCommit(s);
    expectCode(() => n2.proposeConfChange({ type: 'addLearner', node: 'n4' }), 'NOT_READY');
    s.stabilize();
    n2.proposeConfChange({ type: 'addLearner', node: 'n4' });
    expectCode(() => n2.proposeConfChange({ type: 'addLearner', node: 'n5' }), 'CONF_PENDING');
  });

  it('removing the leader moves leadership first', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    const err = expectCode(() => s.core('n1').proposeConfChange({ type: 'remove', node: 'n1' }), 'TRANSFERRING');
    const target = err.leader!;
    s.process(s.node('n1'));
    s.stabilize();
    assert.equal(s.core(target).role, 'leader');
    assert.equal(s.core('n1').role, 'follower');
    s.heartbeat();
    change(s, target, { type: 'remove', node: 'n1' });
    const rest = ['n2', 'n3'];
    for (const id of rest) assert.deepEqual(s.core(id).conf.voters, rest, id);
    s.propose(target, 'after-removal');
    s.heartbeat();
    for (const id of rest) assert.equal(s.node(id).applied.at(-1), 'after-removal');
  });
});

describe('leader transfer', () => {
  it('transfers to a lagging follower after bringing it up to date, refusing proposals meanwhile', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    s.partition(['n1', 'n2'], ['n3']);
    for (let i = 0; i < 10; i++) s.propose('n1', `v${i}`);
    s.stabilize();
    s.heal();
    assert.ok(s.core('n3').log.lastIndex() < s.core('n1').log.lastIndex(), 'n3 lags');
    s.core('n1').transferLeader('n3');
    expectCode(() => s.core('n1').propose([new Uint8Array([1])]), 'DROPPED');
    s.process(s.node('n1'));
    s.stabilize();
    s.heartbeat();
    assert.equal(s.core('n3').role, 'leader');
    assert.ok(s.delivered.some((d) => d.startsWith('n1->n3 timeoutNow')));
    assert.ok(s.delivered.some((d) => d.startsWith('n3->n2 vote') && d.includes('TRANSFER')), 'vote requests are flagged');
    assert.deepEqual(
      s.node('n3').applied.filter((a) => a.startsWith('v')),
      Array.from({ length: 10 }, (_, i) => `v${i}`),
    );
  });

  it('a transfer that does not finish within an election timeout is abandoned', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.heartbeat();
    s.kill('n3');
    s.core('n1').transferLeader('n3');
    s.tick('n1', 10);
    assert.equal(s.core('n1').leadTransferee, null);
    assert.equal(s.core('n1').role, 'leader');
    s.propose('n1', 'accepted again');
  });
});

describe('reads', () => {
  it('an old leader partitioned away answers ReadIndex with an error, never the stale value', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.propose('n1', 'x=1');
    s.stabilize();
    s.heartbeat();
    s.isolate('n1');
    const L = s.electAmong(['n2', 'n3']);
    s.propose(L.id, 'x=2');
    s.stabilize();
    s.heartbeat();
    assert.equal(L.applied.at(-1), 'x=2');
    // n1 still believes it leads; it asks its followers to confirm, hears nothing, steps down.
    assert.equal(s.core('n1').role, 'leader');
    s.core('n1').readIndex('r1');
    s.process(s.node('n1'));
    s.tick('n1', 25);
    const rs = s.node('n1').readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.error, 'DROPPED');
  });

  it('a new leader serves ReadIndex only after its empty entry commits', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.propose('n1', 'x=1');
    s.stabilize();
    s.heartbeat();
    const n2 = newLeaderBeforeItsFirstCommit(s);
    assert.ok(n2.log.committed < n2.log.lastIndex(), 'empty entry not yet committed');
    n2.readIndex('r');
    s.process(s.node('n2'));
    assert.equal(s.node('n2').readStates.length, 0, 'the read waits');
    s.stabilize();
    s.heartbeat();
    const rs = s.node('n2').readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.error, undefined);
    assert.ok(n2.committedInTerm());
    assert.ok(rs[0]!.index >= 4, 'the read index covers the write committed by the previous leader');
  });

  it('a follower read is served at the index the leader confirms', () => {
    const s = new Scenario(['n1', 'n2', 'n3']);
    s.campaign('n1');
    s.propose('n1', 'x=1');
    s.stabilize();
    s.heartbeat();
    s.core('n3').readIndex('f1');
    s.process(s.node('n3'));
    s.stabilize();
    const rs = s.node('n3').readStates;
    assert.equal(rs.length, 1);
    assert.equal(rs[0]!.index, s.core('n1').log.committed);
  });

  it('lease reads are served without a round trip while the lease holds, and not after', () => {
    const s = new Scenario(['n1', 'n2', 'n3'], { leaseReads: true });
    for (const id of ['n1', 'n2', 'n3']) s.tick(id, 10); // with leases, no vote within an election timeout of start
    s.queue = [];
    s.campaign('n1');
    s.heartbeat(2);
    const before = s.delivered.length;
    s.core('n1').readIndex('lease-1');
    s.process(s.node('n1'));
    assert.equal(s.node('n1').readStates[0]?.lease, true);
    assert.equal(s.delivered.length, before, 'no messages needed');
    s.isolate('n1');
    s.tick('n1', 6);
    s.core('n1').readIndex('lease-1b');
    s.process(s.node('n1'));
    assert.equal(s.node('n1').readStates[1]?.lease, true, 'still inside the lease');
    s.tick('n1', 1); // lease = floor((10 − 1) × 0.9 / 1.1) = 7 ticks after the confirming round was sent (leaseSpan)
    s.core('n1').readIndex('lease-2');
    s.process(s.node('n1'));
    assert.equal(s.node('n1').readStates.length, 2, 'lease expired: the read waits for a quorum');
  });
});
