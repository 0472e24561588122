// Issue 9, bugs 1-3: lease reads stay linearizable across a voter's restart, an abandoned
// leadership transfer, and tick rounding with clock drift on both sides.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Message } from '../../src/consensus/types.ts';
import { leaseSpan } from '../../src/consensus/lease.ts';
import { Scenario } from '../support/scenario.ts';

const opts = { leaseReads: true, maxClockDrift: 0.1 };

/** A cluster whose nodes have been up for an election timeout: with leases, a node grants no
 * vote within an election timeout of its start. */
function started(): Scenario {
  const s = new Scenario(['n1', 'n2', 'n3'], opts);
  for (const id of ['n1', 'n2', 'n3']) s.tick(id, s.core(id).cfg.electionTicks);
  s.queue = [];
  return s;
}

/** The read state n answers for ctx, if any (served from the lease or a round). */
function readAt(s: Scenario, id: string, ctx: string) {
  s.core(id).readIndex(ctx);
  s.process(s.node(id));
  return s.node(id).readStates.find((r) => r.context === ctx);
}

describe('lease reads', () => {
  it('a voter that restarts grants no (pre)vote within an election timeout, so an old lease read cannot miss a new commit', () => {
    const s = started();
    s.campaign('n1');
    s.heartbeat(2);
    // C (n3) is cut off from A (n1); B (n2) acknowledges A's round: A holds a lease.
    s.partition(['n1'], ['n3']);
    s.tick('n1');
    s.stabilize();
    const lease = readAt(s, 'n1', 'before');
    assert.equal(lease?.lease, true, 'n1 serves from its lease');
    // A is cut off; B restarts cleanly (it forgets it just confirmed A's lease); C campaigns.
    s.isolate('n1');
    s.restart('n2');
    s.campaign('n3');
    assert.notEqual(s.core('n3').role, 'leader', 'n2 ignored the campaign within an election timeout of its restart');
    if (s.core('n3').role === 'leader') {
      const w = s.propose('n3', 'write');
      s.stabilize();
      const r = readAt(s, 'n1', 'after');
      assert.ok(!r || r.error || r.index >= w.index, `n1 served a lease read at ${r?.index}, missing the write at ${w.index}`);
    }
    // Once an election timeout has passed since the restart, n2 votes again.
    s.tickUntil(['n2', 'n3'], () => s.core('n3').role === 'leader' || s.core('n2').role === 'leader');
  });

  it('a restarted voter still grants a vote flagged as a leadership transfer', () => {
    const s = started();
    s.campaign('n1');
    s.heartbeat(2);
    s.restart('n2');
    s.core('n1').transferLeader('n3');
    s.process(s.node('n1'));
    s.stabilize();
    assert.equal(s.core('n3').role, 'leader');
  });

  it('once TimeoutNow has left in a term, the leader serves no lease read in that term (even after the transfer is abandoned)', () => {
    const s = started();
    s.campaign('n1');
    s.heartbeat(2);
    // The transfer to n2 sends TimeoutNow at once (n2 is up to date); it is held back.
    let held: Message | undefined;
    s.dropIf = (m) => {
      if (m.type !== 'timeoutNow') return false;
      held = m;
      return true;
    };
    s.core('n1').transferLeader('n2');
    s.process(s.node('n1'));
    s.stabilize();
    assert.ok(held, 'TimeoutNow sent and held');
    // The transfer is abandoned after an election timeout; heartbeat rounds go on being acked.
    s.heartbeat(11);
    assert.equal(s.core('n1').leadTransferee, null, 'transfer abandoned');
    assert.equal(s.core('n1').role, 'leader');
    // Now the late TimeoutNow arrives while n1 is cut off: n2 campaigns with flagged requests,
    // n3 grants inside its lease, and n2 commits a write.
    s.isolate('n1');
    s.dropIf = undefined;
    s.core('n2').step(held!);
    s.process(s.node('n2'));
    s.stabilize();
    assert.equal(s.core('n2').role, 'leader');
    const w = s.propose('n2', 'write');
    s.stabilize();
    assert.ok(s.core('n2').log.committed >= w.index);
    const r = readAt(s, 'n1', 'late');
    assert.ok(!r || r.error || r.index >= w.index, `n1 served a lease read at ${r?.index}, missing the write at ${w.index}`);
    assert.equal(r, undefined, 'n1 waits for a heartbeat round instead (which cannot complete)');
  });

  it('the lease ends before any voter that acknowledged its round can vote, with tick rounding and drift on both clocks', () => {
    // Real time in units of 1/1000 tick period P. The leader's clock is slow (rate 1 - d), the
    // voter's fast (rate 1 + d); the voter hears the round just before its own tick.
    const d = opts.maxClockDrift;
    const s = started();
    s.campaign('n1');
    s.heartbeat(2);
    const e = s.core('n1').cfg.electionTicks;
    s.tick('n1'); // round created at this leader tick, at real time 0
    s.stabilize(); // delivered and acknowledged at once: the lease starts at this tick
    s.isolate('n1');
    assert.equal(readAt(s, 'n1', 'start')?.lease, true);
    const P = 1000;
    const events: { t: number; node: 'n1' | 'n2' }[] = [];
    for (let k = 1; k <= 2 * e; k++) events.push({ t: (k * P) / (1 - d), node: 'n1' });
    for (let k = 1; k <= 2 * e; k++) events.push({ t: 1 + ((k - 1) * P) / (1 + d), node: 'n2' });
    events.sort((a, b) => a.t - b.t);
    let leaseEnd = Infinity; // real time of the leader tick at which its lease ran out
    let firstGrant = Infinity; // real time at which n2 first grants a pre-vote
    let k = 0;
    for (const ev of events) {
      if (ev.node === 'n1') {
        s.tick('n1');
        s.queue = [];
        if (leaseEnd === Infinity && !readAt(s, 'n1', `r${k++}`)?.lease) leaseEnd = ev.t;
      } else if (firstGrant === Infinity) {
        s.tick('n2');
        s.queue = [];
        const n2 = s.core('n2');
        n2.step({ type: 'preVote', from: 'n3', to: 'n2', term: n2.term + 1, index: n2.log.lastIndex(), logTerm: n2.log.lastTerm() });
        s.process(s.node('n2'));
        if (s.queue.some((m) => m.type === 'preVoteResp' && !m.reject)) firstGrant = ev.t;
        s.queue = [];
      }
    }
    assert.equal(leaseSpan(s.core('n1')), Math.floor(((e - 1) * (1 - d)) / (1 + d)));
    assert.ok(firstGrant < Infinity && leaseEnd < Infinity);
    assert.ok(leaseEnd <= firstGrant, `the lease lasted until ${leaseEnd / P} P but a voter that confirmed it granted a vote at ${firstGrant / P} P`);
  });
});
