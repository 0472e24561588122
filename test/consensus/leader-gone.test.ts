// A follower told that its leader's connection closed (RaftCore.leaderGone): it answers pre-votes
// at once and campaigns within an election timeout's worth of ticks, not after a whole one; with
// lease reads on it changes nothing; a notice about any other peer changes nothing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Scenario } from '../support/scenario.ts';

const voters = ['n1', 'n2', 'n3'];
const E = 10; // Scenario's electionTicks

/** n1 leads term 2 with n2 and n3 caught up, then dies (its messages are lost from now on). */
function leaderDies(): Scenario {
  const s = new Scenario(voters, { checkQuorum: true, preVote: true });
  s.campaign('n1');
  s.heartbeat(2);
  s.kill('n1');
  return s;
}

describe('leader gone (its connection closed)', () => {
  it('both followers learn it: one of them leads within electionTicks ticks (not 10..19 + an election)', () => {
    const s = leaderDies();
    s.core('n2').leaderGone('n1');
    s.core('n3').leaderGone('n1');
    assert.equal(s.core('n2').lead, null, 'the leader is forgotten at once');
    let ticks = 0;
    while (!['n2', 'n3'].some((id) => s.core(id).role === 'leader') && ticks < 3 * E) {
      s.tick('n2');
      s.tick('n3');
      s.stabilize();
      ticks++;
    }
    assert.ok(['n2', 'n3'].some((id) => s.core(id).role === 'leader'), 'a new leader');
    assert.ok(ticks <= E, `elected after ${ticks} ticks of each follower`);
  });

  it('a follower still hearing the leader refuses the pre-vote of one told the leader is gone', () => {
    const s = new Scenario(voters, { checkQuorum: true, preVote: true });
    s.campaign('n1');
    s.heartbeat(2);
    const term = s.core('n1').term;
    s.core('n2').leaderGone('n1'); // n2's stream from n1 was reopened; n1 is alive
    for (let i = 0; i < E && s.core('n2').role === 'follower'; i++) {
      s.tick('n2');
      s.stabilize();
    }
    assert.equal(s.core('n1').role, 'leader', 'no disruption: n3 refused the pre-vote');
    assert.equal(s.core('n1').term, term);
    s.heartbeat();
    assert.equal(s.core('n2').lead, 'n1', 'the next heartbeat wins n2 back');
  });

  it('changes nothing with lease reads on, for a notice about a non-leader, or on the leader itself', () => {
    // With leases a (re)started voter grants no vote for an election timeout: elect by ticking.
    const lease = new Scenario(voters, { leaseReads: true, checkQuorum: true, preVote: true });
    const L = lease.electAmong(voters).id;
    lease.heartbeat(2);
    const F = voters.find((v) => v !== L)!;
    lease.kill(L);
    const before = lease.core(F).electionElapsed;
    lease.core(F).leaderGone(L);
    assert.equal(lease.core(F).lead, L, 'with leases the follower waits out its timeout');
    assert.equal(lease.core(F).electionElapsed, before);

    const s = leaderDies();
    s.core('n2').leaderGone('n3');
    assert.equal(s.core('n2').lead, 'n1');
    const t = new Scenario(voters, { checkQuorum: true, preVote: true });
    t.campaign('n1');
    t.core('n1').leaderGone('n2');
    assert.equal(t.core('n1').role, 'leader');
  });
});
