// The production driver on a virtual clock: proposal outcomes, group commit, paused processes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { RaftNode } from '../../src/consensus/driver.ts';
import { MemoryNetwork, perfectNetwork } from '../../src/consensus/memory-network.ts';
import { MemoryStorage } from '../../src/consensus/memory-storage.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import type { PersistWrite } from '../../src/consensus/storage.ts';
import type { Timer } from '../../src/consensus/timer.ts';
import type { Message } from '../../src/consensus/types.ts';
import { encodeCommand, KvStateMachine } from '../support/kv-state-machine.ts';
import { Checker } from '../sim/checker.ts';
import { SimCluster, type SimNode, type SimOptions } from '../sim/cluster.ts';

const drain = () => new Promise<void>((r) => setImmediate(r));

function cluster(n: number, over: Partial<SimOptions> = {}) {
  const opts: SimOptions = {
    tickMs: 10,
    electionTicks: 10,
    diskMaxMs: 1,
    snapshotEntries: 1000,
    keepEntries: 10,
    snapshotChunkBytes: 1024,
    maxEntriesPerMsg: 64,
    maxInflight: 64,
    leaseReads: false,
    maxClockDrift: 0.1,
    mutations: {},
    ...over,
  };
  const checker = new Checker();
  const sim = new SimCluster(7, new SeededRand(7), opts, checker, { ...perfectNetwork, minDelay: 1, maxDelay: 2 }, false);
  const ids = Array.from({ length: n }, (_, i) => `n${i + 1}`);
  for (const id of ids) sim.start(sim.addNode(id), ids);
  const runUntil = async (pred: () => boolean, maxMs = 5000) => {
    const end = sim.clock.now + maxMs;
    while (!pred() && sim.clock.now < end) {
      sim.clock.runNext();
      await drain();
      sim.observe();
    }
    assert.ok(pred(), 'condition not reached on the virtual clock');
    assert.deepEqual(checker.violations, []);
  };
  const runFor = (ms: number) => {
    const end = sim.clock.now + ms;
    return runUntil(() => sim.clock.now >= end, ms + 1);
  };
  return { sim, checker, runUntil, runFor };
}

const put = (id: string) => encodeCommand({ id, key: 'k', value: id });

describe('driver', () => {
  it('a proposal on a deposed leader that later commits under the new leader is reported UNKNOWN', async () => {
    const { sim, runUntil, runFor } = cluster(3);
    await runUntil(() => sim.leader() !== undefined);
    await runFor(100); // followers in replicate state: new entries are sent without waiting
    const L = sim.leader()!;
    const others = [...sim.nodes.values()].filter((n) => n !== L);
    // L can still send, but hears nothing back: its entry reaches the followers, their
    // acknowledgements never reach it.
    for (const f of others) sim.net.cut(f.id, L.id);
    let outcome: string | undefined;
    L.driver!.propose(put('deposed')).then(
      () => (outcome = 'committed'),
      (e: ConsensusError) => (outcome = e.code),
    );
    await runUntil(() => outcome !== undefined);
    assert.equal(outcome, 'UNKNOWN', 'never a false failure: the entry may still commit');
    await runUntil(() => others.every((n) => n.sm!.get('k') === 'deposed'));
    assert.notEqual(sim.leader(), L);
  });

  it('stop() reports a proposal appended and replicated but not known committed UNKNOWN (it commits under the next leader)', async () => {
    const { sim, runUntil, runFor } = cluster(3);
    await runUntil(() => sim.leader()?.driver!.core.committedInTerm() === true);
    await runFor(100);
    const L = sim.leader()!;
    const others = [...sim.nodes.values()].filter((n) => n !== L);
    let outcome: string | undefined;
    L.driver!.propose(put('at-stop')).then(
      () => (outcome = 'committed'),
      (e: ConsensusError) => (outcome = e.code),
    );
    // Let the proposal be appended and its append leave, but no acknowledgement come back.
    const last = L.driver!.core.log.lastIndex();
    for (let k = 0; k < 10 && L.driver!.core.log.lastIndex() === last; k++) await drain();
    assert.equal(L.driver!.core.log.lastIndex(), last + 1, 'appended');
    const stopped = L.driver!.stop();
    await runUntil(() => outcome !== undefined);
    await stopped;
    assert.equal(outcome, 'UNKNOWN', 'never a definite failure for an appended entry');
    L.up = false; // stopped for good: the others elect a leader and commit the entry
    await runUntil(() => others.every((n) => n.sm!.get('k') === 'at-stop'));
  });

  it('stop() fails requests that never reached the core with SHUTTING_DOWN', async () => {
    const { sim, runUntil } = cluster(3);
    await runUntil(() => sim.leader()?.driver!.core.committedInTerm() === true);
    const L = sim.leader()!;
    let outcome: string | undefined;
    L.driver!.propose(put('never')).catch((e: ConsensusError) => (outcome = e.code));
    let stopped = false;
    void L.driver!.stop().then(() => (stopped = true)); // in the same turn: the proposal is still queued
    await runUntil(() => stopped);
    assert.equal(outcome, 'SHUTTING_DOWN');
    assert.equal(L.driver!.core.log.lastIndex(), L.driver!.core.log.committed, 'nothing appended');
  });

  it('resolves proposals with the state machine result once applied at the proposing node', async () => {
    const { sim, runUntil } = cluster(3);
    await runUntil(() => sim.leader() !== undefined);
    const L = sim.leader()!;
    let result: unknown;
    L.driver!.propose(put('a')).then((c) => (result = c));
    await runUntil(() => result !== undefined);
    const c = result as { index: number; term: number; result: unknown };
    assert.equal(c.result, null, 'the previous value of k');
    assert.equal(L.sm!.get('k'), 'a');
    assert.ok(L.driver!.core.log.applied >= c.index);
  });

  it('a follower waiting for a forwarded entry gets its state machine result, even if it applied it first', async () => {
    const { sim, runUntil } = cluster(3);
    await runUntil(() => sim.leader()?.driver!.core.committedInTerm() === true);
    const L = sim.leader()!;
    const F = [...sim.nodes.values()].find((n) => n !== L)!;
    let c: { index: number; term: number } | undefined;
    L.driver!.propose(put('first')).then((x) => (c = x));
    await runUntil(() => c !== undefined && F.driver!.core.log.applied >= c.index);
    let got: unknown;
    F.driver!.waitApplied(c!.index, c!.term).then((x) => (got = x.result));
    await runUntil(() => got !== undefined);
    assert.equal(got, null, 'the previous value of k, as the state machine answered');
    let wrong: string | undefined;
    F.driver!.waitApplied(c!.index, c!.term + 99).catch((e: ConsensusError) => (wrong = e.code));
    await runUntil(() => wrong !== undefined);
    assert.equal(wrong, 'SUPERSEDED');
  });

  it('a follower refuses proposals with NOT_LEADER naming the leader', async () => {
    const { sim, runUntil } = cluster(3);
    await runUntil(() => sim.leader() !== undefined && [...sim.nodes.values()].every((n) => n.driver!.core.lead !== null));
    const L = sim.leader()!;
    const F = [...sim.nodes.values()].find((n) => n !== L)!;
    let err: ConsensusError | undefined;
    F.driver!.propose(put('x')).then(
      () => assert.fail('a follower accepted a proposal'),
      (e: ConsensusError) => (err = e),
    );
    await runUntil(() => err !== undefined);
    assert.equal(err?.code, 'NOT_LEADER');
    assert.equal(err?.leader, L.id);
  });

  it('a paused leader delivers every missed tick before stepping any message: no stale lease read', async () => {
    const { sim, runUntil, runFor } = cluster(3, { leaseReads: true });
    await runUntil(() => sim.leader() !== undefined);
    const L = sim.leader()!;
    await runFor(100);
    sim.pause(L);
    // The others elect a new leader and commit a write while L sleeps.
    let newLeader: SimNode | undefined;
    await runUntil(() => (newLeader = sim.leader()) !== undefined && newLeader !== L);
    let w: { index: number } | undefined;
    newLeader!.driver!.propose(put('while-paused')).then((c) => (w = c));
    await runUntil(() => w !== undefined);
    sim.resume(L);
    let served: { index: number; value: string | undefined } | undefined;
    let failed: string | undefined;
    L.driver!.read((p) => ({ index: p.index, value: L.sm!.get('k') })).then(
      (r) => (served = r),
      (e: ConsensusError) => (failed = e.code),
    );
    await runUntil(() => served !== undefined || failed !== undefined);
    if (served) {
      assert.ok(served.index >= w!.index, `read index ${served.index} is not stale (write at ${w!.index})`);
      assert.equal(served.value, 'while-paused');
    }
    assert.notEqual(L.driver!.core.role, 'leader');
  });

  it('promotion of a learner that never catches up is abandoned after 10 election timeouts', async () => {
    const { sim, runUntil } = cluster(3);
    await runUntil(() => sim.leader()?.driver!.core.committedInTerm() === true);
    const L = sim.leader()!;
    let added = false;
    L.driver!.changeConf({ type: 'addLearner', node: 'n9' }).then(() => (added = true)); // n9 never starts
    await runUntil(() => added);
    const t0 = sim.clock.now;
    let outcome: string | undefined;
    L.driver!.promote('n9').then(
      () => (outcome = 'promoted'),
      (e: ConsensusError) => (outcome = e.code),
    );
    await runUntil(() => outcome !== undefined, 3000);
    assert.equal(outcome, 'PROMOTION_TIMEOUT');
    const electionMs = 10 * 10;
    assert.ok(sim.clock.now - t0 >= 9 * electionMs, `gave up after ${sim.clock.now - t0} ms`);
    assert.deepEqual(L.driver!.core.conf.learners, ['n9'], 'still a learner');
  });

  it('read contexts differ between lives of a node, so a late answer never matches a new read', async () => {
    // Found by the simulator: after a restart a node's first read reused the context of its
    // previous life's first read, and a delayed answer to the old read served the new one.
    const { sim, runUntil } = cluster(3);
    await runUntil(() => sim.leader() !== undefined && [...sim.nodes.values()].every((n) => n.driver!.core.lead !== null));
    const F = [...sim.nodes.values()].find((n) => n !== sim.leader())!;
    const contexts: string[] = [];
    const prev = sim.net.onSend;
    sim.net.onSend = (m) => {
      prev?.(m);
      if (m.type === 'readIndex' && m.from === F.id) contexts.push(m.context!);
    };
    F.driver!.read(() => null).catch(() => {});
    await runUntil(() => contexts.length === 1);
    sim.crash(F);
    sim.start(F, ['n1', 'n2', 'n3']);
    await runUntil(() => F.driver!.core.lead !== null);
    F.driver!.read(() => null).catch(() => {});
    await runUntil(() => contexts.length === 2);
    assert.notEqual(contexts[0], contexts[1]);
  });

  it('proposals that arrive together go out as one batch and one write (group commit)', async () => {
    const writes: PersistWrite[] = [];
    class CountingStorage extends MemoryStorage {
      override persist(w: PersistWrite): Promise<void> {
        writes.push(w);
        return super.persist(w);
      }
    }
    let now = 0;
    const intervals: (() => void)[] = [];
    const timer: Timer = {
      now: () => now,
      setInterval: (fn) => intervals.push(fn),
      clearInterval: () => {},
    };
    const storage = new CountingStorage();
    const node = new RaftNode({
      id: 'solo',
      storage,
      stateMachine: new KvStateMachine(storage.disk),
      transport: new MemoryNetwork(new SeededRand(1), (_d, fn) => queueMicrotask(fn)),
      timer,
      rand: new SeededRand(1),
      tickMs: 10,
      raft: { bootstrap: { voters: ['solo'] } },
    });
    void node.start();
    for (let i = 0; i < 40 && node.core.role !== 'leader'; i++) {
      now += 10;
      for (const f of intervals) f();
      await drain();
    }
    assert.equal(node.core.role, 'leader');
    await drain();
    writes.length = 0;
    const done = Array.from({ length: 50 }, (_, i) => node.propose(put(`g${i}`)));
    const results = await Promise.all(done);
    const withEntries = writes.filter((w) => w.entries.length > 0);
    assert.equal(withEntries.length, 1, 'one write for the whole batch');
    assert.equal(withEntries[0]!.entries.length, 50);
    assert.deepEqual(
      results.map((r) => r.index),
      results.map((_, i) => results[0]!.index + i),
    );
    await node.stop();
  });
  it('two snapshots installed in one Ready: the state machine is restored from the last one', async () => {
    const { sim, runUntil, runFor } = cluster(3, { snapshotEntries: 4, keepEntries: 0, snapshotChunkBytes: 1 << 20 });
    await runUntil(() => sim.leader()?.driver!.core.committedInTerm() === true);
    const L = sim.leader()!;
    const F = [...sim.nodes.values()].find((n) => n !== L)!;
    sim.net.isolate(F.id, [...sim.nodes.keys()]);
    for (let i = 0; i < 12; i++) void L.driver!.propose(encodeCommand({ id: `a${i}`, key: `a${i}`, value: 'x' })).catch(() => {});
    await runUntil(() => L.driver!.core.log.firstIndex() > F.driver!.core.log.lastIndex() + 1);
    // Every snapshot for F is held back; the first two (different images: the first transfer
    // stalls and is abandoned, a newer image follows) are then delivered together.
    const held: Message[] = [];
    sim.net.dropIf = (m) => m.type === 'snap' && m.to === F.id && held.push(m) > 0;
    sim.net.heal();
    for (let k = 0; k < 60; k++) sim.clock.after(20 * k, () => void L.driver!.propose(encodeCommand({ id: `b${k}`, key: `b${k}`, value: 'y' })).catch(() => {}));
    await runUntil(() => new Set(held.map((m) => m.snap!.meta.id)).size >= 2, 20_000);
    const first = held[0]!;
    const second = held.find((m) => m.snap!.meta.id !== first.snap!.meta.id)!;
    assert.ok(second.snap!.meta.index > first.snap!.meta.index);
    sim.net.dropIf = undefined;
    F.driver!.receive(first); // both in one batch: stepped in one Ready
    F.driver!.receive(second);
    await runUntil(() => F.driver!.writesInFlight === 0 && F.sm!.applied() >= first.snap!.meta.index);
    assert.equal(F.sm!.applied(), second.snap!.meta.index, 'the state machine is restored from the second image');
    // And it goes on applying from there (a gap would stop the node).
    void L.driver!.propose(encodeCommand({ id: 'after', key: 'after', value: 'z' })).catch(() => {});
    await runUntil(() => F.sm!.get('after') === 'z');
    await runFor(50);
  });
});
