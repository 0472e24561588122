// One simulation run from one seed: a fault phase (random proposals, reads, crashes, restarts,
// pauses, partitions, message faults, membership changes, leader transfers) followed by a healing
// phase in which liveness must hold. Every random choice comes from the seed.

import { ConsensusError } from '../../src/consensus/errors.ts';
import { Proposer } from '../../src/consensus/proposer.ts';
import type { Mutations } from '../../src/consensus/raft.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import type { Message, NodeId } from '../../src/consensus/types.ts';
import { encodeCommand } from '../support/kv-state-machine.ts';
import { Checker } from './checker.ts';
import { SimCluster, type SimNode, type SimOptions, type SimStats } from './cluster.ts';

export interface RunOptions {
  nodes: number;
  /** Client and fault actions in the fault phase. */
  steps: number;
  mutations?: Mutations;
  trace?: boolean;
  /** Skip the direct rule checks: a broken rule must show as a lost commit (Checker). */
  consequencesOnly?: boolean;
  /** Overrides the fault profile drawn from the seed (exploration). */
  profile?: 'mixed' | 'reads' | 'lease' | 'disk' | 'figure8' | 'compaction';
}

export interface RunResult {
  seed: number;
  nodes: number;
  violations: string[];
  stats: SimStats;
  trace: string[] | undefined;
  /** Proposals by outcome (committed, or the error code; pending: never settled). */
  outcomes: Record<string, number>;
}

interface ProposalRecord {
  id: string;
  outcome: string;
  index?: number;
  term?: number;
}

const drain = () => new Promise<void>((r) => setImmediate(r));

export async function runSeed(seed: number, ro: RunOptions): Promise<RunResult> {
  const rand = new SeededRand(seed);
  const opts: SimOptions = {
    tickMs: 10,
    electionTicks: 10,
    diskMaxMs: rand.pick([0, 1, 3, 6]),
    snapshotEntries: rand.pick([10, 25, 60]),
    keepEntries: rand.pick([0, 2, 8]),
    snapshotChunkBytes: rand.pick([64, 200, 1024]),
    maxEntriesPerMsg: rand.pick([1, 2, 4, 64]),
    maxInflight: rand.pick([1, 2, 4, 64]),
    leaseReads: rand.chance(0.5),
    maxClockDrift: 0.1,
    mutations: ro.mutations ?? {},
  };
  // A fault profile per seed: which faults and requests dominate (each still draws every fault).
  //   mixed: as before, new faults at low rates; reads: read-heavy, reads aimed at nodes that
  //   believe they lead, leaders isolated, long message delays; lease: leases on, targeted lease
  //   attacks (a voter restarted behind an isolated leader, a transfer whose sender is cut off);
  //   disk: slow disks and leader churn (big group-commit batches, acknowledgements racing);
  //   figure8: the Raft paper's Figure 8 played out on three voters, so that committing an entry
  //   of an earlier term by counting replicas shows as a lost commit, not only as a broken rule;
  //   compaction: one-chunk snapshots every few entries with little kept behind them, and a
  //   follower's probe held in the network until the leader's snapshot overtakes it, both then
  //   stepped in one Ready (the snapshot's index among the entries that probe brought).
  const drawn = rand.pick(['mixed', 'mixed', 'reads', 'lease', 'disk', 'figure8', 'compaction'] as const);
  const profile = ro.profile ?? drawn;
  if (profile === 'lease') opts.leaseReads = true;
  if (profile === 'disk') opts.diskMaxMs = rand.pick([3, 6]);
  if (profile === 'figure8') opts.maxEntriesPerMsg = 1; // old entries and a new empty entry travel apart
  if (profile === 'compaction') {
    opts.snapshotEntries = rand.pick([2, 3]);
    opts.keepEntries = rand.pick([0, 2]);
    opts.snapshotChunkBytes = 1 << 20;
    opts.maxEntriesPerMsg = 64;
  }
  const electionMs = opts.electionTicks * opts.tickMs;
  const baseFaults = () => ({
    drop: profile === 'lease' ? rand.pick([0, 0.01]) : rand.pick([0, 0.01, 0.05, 0.15]),
    duplicate: rand.pick([0, 0.02, 0.05]),
    minDelay: 1,
    // A lease attack plays out within a lease (70 ms): short delays there.
    maxDelay: profile === 'lease' ? rand.pick([2, 4, 8]) : rand.pick([2, 8, 20, 40]),
    // Messages held longer than an election timeout (a late TimeoutNow, a stale acknowledgement).
    longDelay: rand.pick([0, 0, 0.01, 0.05]),
    longDelayMs: electionMs * rand.pick([2, 4]),
  });
  // Leader churn in a third of the seeds (see below); its appends carry one entry each, so old
  // entries and a new leader's empty entry travel apart.
  const churn = rand.chance(1 / 3);
  if (churn && profile !== 'compaction') opts.maxEntriesPerMsg = 1;
  const checker = new Checker();
  checker.consequencesOnly = ro.consequencesOnly === true;
  const sim = new SimCluster(seed, rand, opts, checker, baseFaults(), ro.trace === true);
  const ids = Array.from({ length: ro.nodes }, (_, i) => `n${i + 1}`);
  for (const id of ids) sim.start(sim.addNode(id), ids);
  let nextId = ro.nodes + 1;
  const proposals: ProposalRecord[] = [];
  let ackedMax = 0;
  let propSeq = 0;

  const step = async () => {
    const t = sim.clock.peekTime();
    while (sim.clock.peekTime() === t) sim.clock.runNext();
    await drain();
    sim.observe();
  };
  const any = <T>(xs: T[]): T | undefined => (xs.length ? rand.pick(xs) : undefined);
  const members = (n: SimNode) => {
    const c = n.driver!.core.conf;
    return [...c.voters, ...c.learners];
  };

  /**
   * A forwarded proposal from `via` to `leader` (ForwardFn) over the simulated network: refused
   * at once when the leader is down (nothing sent: NOT_LEADER); the request or the answer may be
   * lost (partition, drop, a crash in between), and then the caller learns UNKNOWN at its deadline.
   */
  const forwardFrom = (via: SimNode) => (leader: NodeId, data: Uint8Array, timeoutMs: number) =>
    new Promise<{ index: number; term: number }>((resolve, reject) => {
      const L = sim.nodes.get(leader);
      if (!L || !L.up) return reject(new ConsensusError('NOT_LEADER', `leader ${leader} refused the connection`, { leader }));
      let done = false;
      const settle = (f: () => void) => {
        if (!done) {
          done = true;
          f();
        }
      };
      const life = via.incarnation;
      const alive = () => via.up && via.incarnation === life;
      sim.clock.after(timeoutMs, () => alive() && settle(() => reject(new ConsensusError('UNKNOWN', `no answer from leader ${leader}`, { leader }))));
      const lost = (from: NodeId, to: NodeId) => sim.net.isBlocked(from, to) || rand.chance(sim.net.faults.drop);
      const hop = () => 1 + rand.int(Math.max(1, sim.net.faults.maxDelay));
      const driver = L.driver!;
      sim.clock.after(hop(), () => {
        if (lost(via.id, leader) || !L.up || L.driver !== driver) return;
        const answer = (f: () => void) =>
          sim.clock.after(hop(), () => {
            if (!lost(leader, via.id) && alive()) settle(f);
          });
        // As the server's leader: answered once appended (the Proposer waits for the outcome).
        sim.whenRunning(L, () =>
          driver.append(data).then(
            (c) => answer(() => resolve({ index: c.index, term: c.term })),
            (e: ConsensusError) => answer(() => reject(e)),
          ),
        );
      });
    });

  const propose = (target: SimNode, id: string, forwarded = rand.chance(0.35)): ProposalRecord => {
    const rec: ProposalRecord = { id, outcome: 'pending' };
    proposals.push(rec);
    const data = encodeCommand({ id, key: `k${rand.int(8)}`, value: id });
    // A third of the proposals enter at any node through the Proposer (the server's code):
    // forwarded to the leader, retried with the same request id, waited for locally.
    const via = forwarded ? any(sim.running()) : undefined;
    const attempt = via
      ? new Proposer({
          raft: via.driver!,
          forward: forwardFrom(via),
          timer: via.timer!,
          retryMs: opts.tickMs,
          onAttempt: (kind, n) => {
            if (kind === 'forward') sim.stats.forwardedProposals++;
            if (n > 1) sim.stats.retriedRequestIds++;
          },
        }).propose(data, 20 * electionMs)
      : target.driver!.propose(data);
    attempt.then(
      (c) => {
        rec.outcome = 'committed';
        rec.index = c.index;
        rec.term = c.term;
        if (c.index > ackedMax) ackedMax = c.index;
        sim.stats.proposalsCommitted++;
      },
      (e: ConsensusError) => {
        rec.outcome = e.code;
      },
    );
    return rec;
  };

  /** A node that believes it leads but is not the newest leader (a deposed, isolated leader). */
  const believer = (): SimNode | undefined => {
    const L = sim.leader();
    return any(sim.running().filter((n) => n.driver!.core.role === 'leader' && n !== L));
  };

  const read = (n: SimNode) => {
    const rec = { node: n.id, ackedBefore: ackedMax, readBefore: checker.maxReadServed };
    n.driver!.read((p) => {
      checker.checkRead(rec, p.index, p.applied, n.sm!.state.hash);
      sim.stats.readsServed++;
      if (p.lease) sim.stats.leaseReads++;
    }).catch(() => {});
  };

  /** A removed node: shut down, or (half the time) left running with its old state — it keeps
   * sending what it believes — and later restarted once with its old data. */
  const retire = (id: NodeId) => {
    const n = sim.nodes.get(id);
    if (!n) return;
    n.retired = true;
    if (rand.chance(0.5)) {
      sim.crash(n);
      return;
    }
    sim.stats.removedStayingUp++;
    sim.log(() => `${id} REMOVED, stays up`);
    sim.clock.after(100 + rand.int(900), () => {
      if (!faultPhase || !n.up) return;
      sim.crash(n);
      sim.start(n, undefined); // its old data: it must not disturb the cluster it left
    });
  };

  const removeNode = (target: NodeId, tries: number) => {
    const L = sim.leader();
    if (!L) return;
    L.driver!.changeConf({ type: 'remove', node: target }).then(
      () => retire(target),
      (e: ConsensusError) => {
        if (e.code === 'TRANSFERRING' && tries > 0) sim.clock.after(150, () => removeNode(target, tries - 1));
      },
    );
  };

  const addNode = (then?: () => void) => {
    const L = sim.leader();
    if (!L || members(L).length >= ro.nodes + 2) return;
    const id = `n${nextId++}`;
    const n = sim.addNode(id);
    sim.start(n, undefined);
    L.driver!.addNode(id).then(() => then?.(), () => {});
  };

  const fault = () => {
    const running = sim.running();
    const down = [...sim.nodes.values()].filter((n) => !n.up && !n.retired);
    const L = sim.leader();
    // The read and lease profiles draw only mild faults (restarts of down nodes, pauses,
    // partitions and heals, message faults, transfers, long delays): no crash or membership
    // change interrupts their signature fault.
    const kind =
      profile === 'reads' || profile === 'lease' ? rand.pick([2, 3, 4, 5, 6, 6, 7, 8, 15]) : profile === 'figure8' ? rand.pick([2, 3, 7]) : rand.int(18);
    switch (kind) {
      case 0:
      case 1: {
        const n = rand.chance(0.4) && L ? L : any(running);
        if (n) sim.crash(n);
        break;
      }
      case 2:
      case 3: {
        const n = any(down);
        if (n) sim.start(n, ids);
        break;
      }
      case 4: {
        const n = rand.chance(0.5) && L ? L : any(running);
        if (n) {
          sim.pause(n);
          sim.clock.after(20 + rand.int(400), () => sim.resume(n)); // (resumed at healing anyway)
        }
        break;
      }
      case 5: {
        const all = [...sim.nodes.keys()];
        if (rand.chance(0.4) && L) sim.net.isolate(L.id, all);
        else if (rand.chance(0.5)) {
          const shuffled = all.slice().sort(() => rand.next() - 0.5);
          const k = 1 + rand.int(all.length - 1);
          sim.net.partition([shuffled.slice(0, k), shuffled.slice(k)]);
        } else {
          const a = rand.pick(all);
          const b = rand.pick(all);
          if (a !== b) sim.net.cut(a, b);
        }
        sim.log(() => 'PARTITION');
        break;
      }
      case 6:
        sim.net.heal();
        sim.log(() => 'HEAL');
        break;
      case 7:
        sim.net.faults = baseFaults();
        break;
      case 8:
        if (L) {
          const to = any(L.driver!.core.conf.voters.filter((v) => v !== L.id));
          if (to) L.driver!.transferLeader(to).then(() => sim.stats.transfers++, () => {});
        }
        break;
      case 9:
        addNode();
        break;
      case 10:
        if (L && L.driver!.core.conf.voters.length > 3) removeNode(rand.pick(L.driver!.core.conf.voters), 5);
        break;
      case 11:
        // Replace the leader: add a node, then remove the leader (leadership moves first).
        if (L) addNode(() => removeNode(L.id, 5));
        break;
      case 12: {
        // Graceful stop (SIGTERM), restarted later like a crashed node.
        const n = rand.chance(0.5) && L ? L : any(running);
        if (n) sim.stop(n, () => sim.clock.after(20 + rand.int(400), () => !n.up && !n.retired && sim.start(n, ids)));
        break;
      }
      case 13: {
        // A restart within milliseconds of a crash.
        const n = rand.chance(0.4) && L ? L : any(running);
        if (n) {
          sim.crash(n);
          sim.stats.fastRestarts++;
          sim.clock.after(rand.int(4), () => !n.up && !n.retired && sim.start(n, ids));
        }
        break;
      }
      case 14: {
        const n = rand.chance(0.5) && L ? L : any(running);
        if (n) sim.slowDisk(n, 10 + rand.int(40), 50 + rand.int(500));
        break;
      }
      case 15:
        sim.net.faults = { ...sim.net.faults, longDelay: rand.pick([0.02, 0.1]), longDelayMs: electionMs * rand.pick([2, 4]) };
        break;
      case 16:
        if (L && opts.leaseReads) leaseAttackRestart(L);
        break;
      case 17:
        if (L) transferThenCutOff(L);
        break;
    }
  };

  /** Reads at `n` every few ms for `forMs` (a leader that may be deposed without knowing it). */
  const readBurst = (n: SimNode, forMs: number) => {
    for (let t = 0; t < forMs; t += 2 + rand.int(6)) sim.clock.after(t, () => n.up && !n.paused && read(n));
  };

  /** Writes are held (not proposed) until this virtual time: a lease attack needs the
   * candidate's log as up to date as the voters'. */
  let writesHeldUntil = 0;
  /** Writes at whoever leads now (not the isolated old leader), every 5 ms for `forMs`. */
  const writeBurst = (A: SimNode, forMs: number) => {
    for (let t = 0; t < forMs; t += 5) {
      sim.clock.after(t, () => {
        const N = sim.leader();
        if (faultPhase && N && N !== A) propose(N, `p${propSeq++}`, false);
      });
    }
  };

  /**
   * Bug 1's sequence: C (with enough others to make a quorum with B) is cut off from leader A;
   * B keeps acknowledging A's rounds; just before C's election timer fires, A is cut off from
   * everyone and B restarts at once. Only B's restart rule stops C from winning with B's vote
   * while A still serves reads from its lease. Writes are held until then (C's log must be as
   * up to date as B's), then go to whoever leads.
   */
  const leaseAttackRestart = (A: SimNode) => {
    const voters = A.driver!.core.conf.voters;
    const others = voters.filter((v) => v !== A.id).map((v) => sim.nodes.get(v));
    if (others.some((n) => !n?.up || n.paused) || others.length < 2) return;
    const q = Math.floor(voters.length / 2) + 1;
    const B = others[0]!;
    const cut = others.slice(1, q) as SimNode[];
    const C = cut[0]!;
    for (const x of cut) {
      sim.net.cut(A.id, x.id);
      sim.net.cut(x.id, A.id);
    }
    // When C's election timer fires (its own ticks, at its clock rate).
    const c = C.driver!.core;
    const campaignMs = ((c.randomizedElectionTimeout - c.electionElapsed) * opts.tickMs) / C.rate;
    const at = Math.max(0, campaignMs - 10 - rand.int(40));
    writesHeldUntil = sim.clock.now + at + 5;
    sim.log(() => `LEASE ATTACK (restart): cut ${A.id} from ${cut.map((x) => x.id).join(',')}; in ${at.toFixed(0)} ms isolate ${A.id} and restart ${B.id}`);
    sim.clock.after(at, () => {
      if (!faultPhase) return; // delayed faults fire only while the fault phase lasts
      sim.net.isolate(A.id, [...sim.nodes.keys()]);
      if (B.up) {
        sim.crash(B);
        sim.stats.fastRestarts++;
        sim.clock.after(rand.int(2), () => !B.up && !B.retired && sim.start(B, ids));
      }
      readBurst(A, electionMs);
      writeBurst(A, electionMs);
      sim.clock.after(2 * electionMs + rand.int(electionMs), () => sim.net.heal());
    });
  };

  /**
   * A transfer whose sender is cut off right after (new messages only: what is in flight still
   * arrives, late acknowledgements included); it keeps serving reads while it believes it may.
   */
  const transferThenCutOff = (A: SimNode) => {
    const to = any(A.driver!.core.conf.voters.filter((v) => v !== A.id));
    if (!to) return;
    A.driver!.transferLeader(to).then(() => sim.stats.transfers++, () => {});
    const delay = rand.chance(0.7) ? rand.int(4) : rand.int(2 * electionMs);
    sim.log(() => `TRANSFER ${A.id} -> ${to}, then in ${delay} ms sever ${A.id}`);
    sim.clock.after(delay, () => {
      if (!faultPhase) return;
      sim.net.sever(A.id, [...sim.nodes.keys()]);
      readBurst(A, electionMs);
      writeBurst(A, electionMs);
      sim.clock.after(2 * electionMs + rand.int(electionMs), () => sim.net.heal());
    });
  };

  /**
   * A transfer while every link INTO the old leader A is slow (tens of ms; its own messages go
   * out at once, on a calm network): the target wins, commits a write and acknowledges it while
   * A hears nothing yet — neither the acknowledgements of its last heartbeat round nor the new
   * term — and then a read arrives at A. Started just after one of A's heartbeat rounds left, so
   * that the election and the write play out within A's heartbeat interval.
   */
  const transferSlowInbound = (A: SimNode) => {
    const term = A.driver!.core.term;
    const c = A.driver!.core;
    // A target that is up to date (the transfer then starts at once).
    const to = any(c.conf.voters.filter((v) => v !== A.id && sim.nodes.get(v)?.up && !sim.nodes.get(v)?.paused && c.prs.get(v)?.match === c.log.lastIndex()));
    if (!to) return;
    const slowMs = rand.pick([30, 50]);
    sim.net.faults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 1 };
    // On fast disks for a while.
    const diskMaxMs = opts.diskMaxMs;
    opts.diskMaxMs = 0;
    calmUntil = sim.clock.now + 4 * electionMs;
    sim.log(() => `TRANSFER ${A.id} -> ${to} with links into ${A.id} ${slowMs} ms slow`);
    const seq0 = A.driver!.core.readOnly.seq;
    const leads = () => faultPhase && A.up && !A.paused && A.driver!.core.role === 'leader' && A.driver!.core.term === term;
    let write: ProposalRecord | undefined;
    const watch = (left: number): void => {
      if (!leads() || left <= 0) return;
      const N = sim.leader();
      if (!write && N && N !== A && N.driver!.core.term > term) {
        write = propose(N, `p${propSeq++}`, false);
        read(N);
      }
      // The new leader acknowledged a write or completed a read beyond what A knows committed.
      if (write?.outcome === 'committed' || checker.maxReadServed > A.driver!.core.log.committed) {
        sim.log(() => `READ at ${A.id} (commit ${A.driver!.core.log.committed}) after the new leader's write or read`);
        read(A);
        return;
      }
      sim.clock.after(1, () => watch(left - 1));
    };
    const waitRound = (left: number): void => {
      if (!leads()) {
        opts.diskMaxMs = diskMaxMs;
        return;
      }
      if (A.driver!.core.readOnly.seq === seq0 && left > 0) {
        sim.clock.after(1, () => waitRound(left - 1));
        return;
      }
      sim.log(() => `TRANSFER now (round ${A.driver!.core.readOnly.seq} left)`);
      sim.net.extraDelay = (m) => (m.to === A.id ? slowMs : 0);
      sim.clock.after(slowMs + 2 * electionMs, () => {
        sim.net.extraDelay = undefined;
        opts.diskMaxMs = diskMaxMs;
      });
      A.driver!.transferLeader(to).then(() => sim.stats.transfers++, () => {});
      watch(slowMs);
    };
    waitRound(2 * electionMs);
  };

  /**
   * The leader A and one follower F are split from the majority, which elects a new leader; A
   * keeps appending writes (F acknowledges them); F's disk is slow, so when the split heals F
   * steps A's appends and the new leader's first (truncating) append in one batch.
   */
  const minoritySplit = (A: SimNode) => {
    const voters = A.driver!.core.conf.voters;
    if (voters.length < 5) return;
    const F = sim.nodes.get(any(voters.filter((v) => v !== A.id))!);
    if (!F?.up) return;
    // The majority side must be able to elect: its down voters restart first.
    for (const v of voters) {
      const n = sim.nodes.get(v);
      if (n && !n.up && !n.retired) sim.start(n, ids);
    }
    const minority = [A.id, F.id];
    const rest = [...sim.nodes.keys()].filter((id) => !minority.includes(id));
    // Split just after A's check-quorum round passed (its electionElapsed restarted): A then keeps
    // leading for one more election timeout, long enough for the majority to elect a leader.
    const splitWhenFresh = (left: number): void => {
      const c = A.driver!.core;
      if (!faultPhase || !A.up || c.role !== 'leader') return;
      // A quorum has already been heard from in this check-quorum window.
      const heard = c.conf.voters.filter((v) => v === A.id || c.prs.get(v)?.recentActive).length;
      const fresh = c.electionElapsed <= 3 && heard > c.conf.voters.length / 2;
      if (!fresh && left > 0) {
        sim.clock.after(1, () => splitWhenFresh(left - 1));
        return;
      }
      split();
    };
    const split = () => minoritySplitNow(A, F, minority, rest);
    splitWhenFresh(2 * electionMs);
  };

  const minoritySplitNow = (A: SimNode, F: SimNode, minority: NodeId[], rest: NodeId[]) => {
    sim.net.partition([minority, rest]);
    calmUntil = sim.clock.now + 6 * electionMs; // no random fault interrupts it (see the heal below)
    // On a calm network (short delays, no loss), so that F keeps up with A's appends.
    sim.net.faults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: rand.pick([2, 4]) };
    sim.log(() => `SPLIT ${minority.join(',')} | ${rest.join(',')}`);
    for (let t = 0; t < 3 * electionMs; t += 7) sim.clock.after(t, () => faultPhase && A.up && !A.paused && propose(A, `p${propSeq++}`, false));
    // Heal while A still believes it leads (check-quorum deposes it within two election
    // timeouts), F's disk slow from just before...
    const term = A.driver!.core.term;
    const watch = (left: number) =>
      sim.clock.after(2, () => {
        if (!faultPhase) return;
        // ... during the majority's election: the new leader's first append (its empty entry,
        // which truncates F's tail) is then the first message F gets from it.
        const campaigning = rest.some((id) => {
          const c = sim.nodes.get(id)?.driver?.core;
          return c !== undefined && c.term > term;
        });
        const ready = campaigning && A.up && A.driver!.core.role === 'leader';
        if (ready || left <= 0) {
          sim.log(() => `SPLIT HEAL for ${F.id} (${ready ? `while ${A.id} leads` : 'timed out'})`);
          sim.slowDisk(F, 10 + rand.int(20), 60);
          // F rejoins the majority; A stays cut off from it (and keeps leading, appending to F).
          sim.clock.after(rand.int(3), () => {
            sim.net.heal();
            for (const x of rest) {
              sim.net.cut(A.id, x);
              sim.net.cut(x, A.id);
            }
            sim.clock.after(2 * electionMs, () => sim.net.heal());
            calmUntil = sim.clock.now + 2 * electionMs;
          });
        } else watch(left - 2);
      });
    watch(3 * electionMs);
  };

  /**
   * Compaction profile: a follower F's probe append is held in the network while A compacts past
   * it, then delivered at the same instant as the one-chunk snapshot A sends next (the probes in
   * between are lost). F steps both in one Ready: the snapshot's index often falls among the
   * entries that append brought, not yet durable (the install keeps them — and acknowledges them).
   * It starts with one lost append, whose successor F rejects, so that A probes F.
   */
  const heldProbeThenSnapshot = (A: SimNode) => {
    const term = A.driver!.core.term;
    const F = any(A.driver!.core.conf.voters.filter((v) => v !== A.id && sim.nodes.get(v)?.up && !sim.nodes.get(v)?.paused));
    if (!F) return;
    let phase: 'drop' | 'probe' | 'done' = 'drop';
    let lostPrev = 0;
    const held: Message[] = [];
    const ours = (m: Message) => m.from === A.id && m.to === F && m.term === term;
    calmUntil = sim.clock.now + 4 * electionMs; // no random fault spoils it
    sim.log(() => `HELD PROBE: ${A.id} -> ${F}`);
    sim.net.dropIf = (m) => {
      if (!ours(m)) return false;
      const entries = m.entries?.length ?? 0;
      if (phase === 'drop' && m.type === 'app' && entries > 0) {
        phase = 'probe';
        lostPrev = m.index ?? 0;
        return true;
      }
      if (phase === 'probe' && m.type === 'app' && entries > 0 && (m.index ?? 0) <= lostPrev) {
        held.push(m); // a probe after F's rejection
        return true;
      }
      if (phase === 'probe' && m.type === 'snap' && m.snap!.offset === 0 && m.snap!.done && held.length > 0) {
        // The network loses all probes but one: the one whose entries reach furthest past the
        // snapshot's index while its commit stays below it (else the first).
        const S = m.snap!.meta.index;
        const fits = held.filter((h) => (h.commit ?? 0) < S && lastOf(h) > S);
        const probe = fits.length > 0 ? fits[fits.length - 1]! : held[0]!;
        sim.log(() => `HELD PROBE: ${F} gets a probe (prev ${probe.index}, commit ${probe.commit}, up to ${lastOf(probe)}) and snapshot ${S} at once`);
        sim.net.deliverAfter(probe, 1);
        sim.net.deliverAfter(m, 1);
        phase = 'done';
        return true;
      }
      return false;
    };
    // A steady stream of writes, and the others' acknowledgements a little slow: when a probe
    // leaves, A holds entries beyond its commit (and beyond its next snapshot's index).
    for (let t = 0; t < 3 * electionMs; t += 2) sim.clock.after(t, () => faultPhase && A.up && propose(A, `p${propSeq++}`, false));
    sim.net.extraDelay = (m) => (m.type === 'appResp' && m.to === A.id && m.from !== F ? 5 + rand.int(10) : 0);
    sim.clock.after(4 * electionMs, () => {
      if (phase !== 'done' && held.length > 0) sim.net.deliverAfter(held[held.length - 1]!, 1); // late, alone
      phase = 'done';
      sim.net.dropIf = undefined;
      sim.net.extraDelay = undefined;
    });
  };
  const lastOf = (m: Message) => (m.index ?? 0) + (m.entries?.length ?? 0);

  /**
   * Raft's Figure 8 on three voters A (leading), B, C: A, cut off, appends x at i; B wins the next
   * term with C's vote but its empty entry reaches no one (B is cut off at once); A comes back,
   * wins a later term with C's vote (its last entry is newer than C's), replicates x to C — a
   * majority holds it — while its own empty entry does not reach C; then A crashes and B (whose
   * last term is newer than x's) wins with C's vote and overwrites i. Correct: x was never
   * committed. Committing x by counting replicas loses a committed entry.
   */
  const figure8 = (A: SimNode) => {
    const voters = A.driver!.core.conf.voters;
    if (voters.length !== 3 || A.driver!.core.conf.learners.length > 0) return;
    const [B, C] = voters.filter((v) => v !== A.id).map((v) => sim.nodes.get(v)!);
    if (!B?.up || !C?.up || B.paused || C.paused) return;
    const all = [...sim.nodes.keys()];
    const t0 = A.driver!.core.term;
    sim.log(() => `FIGURE 8: ${A.id} leads term ${t0}, ${B.id} and ${C.id} follow`);
    writesHeldUntil = sim.clock.now + 20 * electionMs;
    sim.net.isolate(A.id, all);
    const i = A.driver!.core.log.lastIndex() + 1;
    propose(A, `p${propSeq++}`, false); // x at i, on A only
    const step = (cond: () => boolean, then: () => void, left = 6 * electionMs) =>
      sim.clock.after(2, () => {
        if (!faultPhase) return;
        if (cond()) then();
        else if (left > 0) step(cond, then, left - 2);
        else {
          sim.net.dropIf = undefined;
          writesHeldUntil = 0;
        }
      });
    // B or C wins the next term; its appends are dropped, and it is cut off once it leads.
    sim.net.dropIf = (m) => m.type === 'app' && m.from !== A.id && m.term > t0;
    const leads = (n: SimNode) => n.up && n.driver!.core.role === 'leader' && n.driver!.core.term > t0;
    step(() => leads(B) || leads(C), () => {
      const [W, V] = leads(B) ? [B, C] : [C, B]; // W won with V's vote
      sim.net.isolate(W.id, all);
      sim.net.dropIf = undefined;
      // A comes back (W stays cut off): it hears V's term, steps down, and wins a later term
      // with V's vote; its appends carrying its own empty entry do not reach V.
      sim.net.heal();
      sim.net.isolate(W.id, all);
      const tA = () => A.driver!.core.term;
      // (Until V holds x, A's probes get through, so that V's rejection leads A back to x.)
      const vHoldsX = () => V.driver!.core.log.term(i) === A.driver!.core.log.term(i);
      sim.net.dropIf = (m) => m.type === 'app' && m.from === A.id && m.to === V.id && vHoldsX() && (m.entries ?? []).some((e) => e.index > i);
      step(() => A.up && A.driver!.core.role === 'leader' && tA() > W.driver!.core.term && V.driver!.core.log.term(i) === A.driver!.core.log.term(i), () => {
        // x is on A and V; A crashes; W comes back and wins with V's vote.
        sim.clock.after(2 * opts.tickMs, () => {
          if (!faultPhase) return;
          sim.crash(A);
          sim.net.dropIf = undefined;
          sim.net.heal();
          writesHeldUntil = 0;
          sim.log(() => `FIGURE 8: ${A.id} crashed with ${i} on ${A.id} and ${V.id}; ${W.id} returns`);
          sim.clock.after(6 * electionMs, () => faultPhase && !A.up && !A.retired && sim.start(A, ids));
        });
      });
    });
  };

  // Leader churn (a third of the seeds): a new leader is soon crashed or cut off, so that it
  // leaves entries replicated to some nodes but not others (the logs of Raft's Figure 8).
  let faultPhase = true;
  /** No random fault before this virtual time (a signature fault that random faults would spoil). */
  let calmUntil = 0;
  if (churn && profile === 'mixed') {
    sim.onNewLeader = (n) => {
      if (!faultPhase || !rand.chance(0.8)) return;
      const after = rand.int(3 * opts.tickMs);
      // Delayed faults fire only while the fault phase lasts.
      if (rand.chance(0.5)) sim.clock.after(after, () => faultPhase && sim.crash(n));
      else {
        sim.clock.after(after, () => faultPhase && sim.net.isolate(n.id, [...sim.nodes.keys()]));
        sim.clock.after(after + 100 + rand.int(300), () => sim.net.heal());
      }
    };
  }

  // ---- fault phase ----
  let actions = 0;
  /** No new signature fault before this virtual time (the last one plays out first). */
  let quietUntil = 0;
  const nextAction = () => {
    sim.clock.after(1 + rand.int(25), () => {
      if (actions++ >= ro.steps) {
        faultPhase = false;
        return;
      }
      const r = rand.next();
      const L = sim.leader();
      // Writes below pWrite, reads below pRead, random faults above. The profiles keep random
      // faults rare, so that their signature fault plays out on a working cluster.
      const [pWrite, pRead] =
        profile === 'reads' ? [0.35, 0.92] : profile === 'lease' ? [0.45, 0.92] : profile === 'disk' ? [0.6, 0.88] : profile === 'figure8' ? [0.5, 0.95] : profile === 'compaction' ? [0.6, 0.8] : [0.5, 0.72];
      if (profile !== 'mixed' && L && sim.clock.now >= quietUntil && rand.chance(0.1)) {
        quietUntil = sim.clock.now + (profile === 'figure8' ? 15 : 5) * electionMs; // one signature fault at a time
        // The profile's signature fault.
        const sig = profile === 'reads' ? rand.int(3) : 0;
        if (profile === 'reads' && L && sig === 0) {
          transferThenCutOff(L);
        } else if (profile === 'reads' && L && sig === 1) {
          transferSlowInbound(L);
        } else if (profile === 'reads' && L) {
          sim.log(() => `ISOLATE leader ${L.id} (reads at it go on)`);
          sim.net.isolate(L.id, [...sim.nodes.keys()]);
          readBurst(L, 2 * electionMs);
          sim.clock.after(2 * electionMs + rand.int(2 * electionMs), () => sim.net.heal());
        } else if (profile === 'lease' && L) {
          if (rand.chance(0.5)) leaseAttackRestart(L);
          else transferThenCutOff(L);
        } else if (profile === 'figure8') {
          figure8(L);
        } else if (profile === 'compaction') {
          heldProbeThenSnapshot(L);
        } else if (profile === 'disk' && L && L.driver!.core.conf.voters.length >= 5 && rand.chance(0.8)) {
          minoritySplit(L);
        } else if (profile === 'disk') {
          const n = rand.chance(0.6) && L ? L : any(sim.running());
          if (n) sim.slowDisk(n, 10 + rand.int(40), 100 + rand.int(500));
        }
      }
      if (r < pWrite) {
        if (sim.clock.now < writesHeldUntil) {
          nextAction();
          return;
        }
        // Mostly the current leader; sometimes any node that believes it leads (a deposed leader
        // appends entries it cannot replicate: the divergent logs of Figure 8), or any node.
        const believers = sim.running().filter((n) => n.driver!.core.role === 'leader');
        const x = rand.next();
        const target = x < 0.6 ? L : x < 0.85 ? any(believers) : any(sim.running());
        if (target) propose(target, `p${propSeq++}`);
      } else if (r < pRead) {
        const n = (profile !== 'mixed' && rand.chance(0.3) ? believer() : undefined) ?? any(sim.running());
        if (n) read(n);
      } else if (sim.clock.now >= calmUntil) fault();
      nextAction();
    });
  };
  nextAction();
  while (faultPhase && checker.violations.length === 0 && sim.clock.size > 0) await step();

  // ---- healing phase: liveness must hold within a bounded number of election timeouts ----
  if (checker.violations.length === 0) {
    sim.net.heal();
    sim.net.dropIf = undefined;
    sim.net.extraDelay = undefined;
    sim.net.faults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 };
    for (const n of sim.nodes.values()) {
      n.slowUntil = 0;
      if (n.paused) sim.resume(n);
      if (!n.up && !n.retired) sim.start(n, ids);
    }
    sim.log(() => 'HEALED: liveness phase, writes continue');
    // Liveness while writes continue, not only once they stop.
    let healing = true;
    const writeLoad = () =>
      sim.clock.after(5 + rand.int(20), () => {
        if (!healing) return;
        const L = sim.leader();
        if (L) propose(L, `bg${propSeq++}`);
        writeLoad();
      });
    writeLoad();
    const deadline = sim.clock.now + 60 * electionMs;
    let marker: ProposalRecord | undefined;
    let lastTry = -Infinity;
    let done = false;
    while (!done && sim.clock.now < deadline && checker.violations.length === 0) {
      await step();
      if (!marker || (marker.outcome !== 'pending' && marker.outcome !== 'committed')) {
        const L = sim.leader();
        if (L && sim.clock.now - lastTry > 2 * electionMs) {
          lastTry = sim.clock.now;
          marker = propose(L, `marker${propSeq++}`, false);
          sim.log(() => `MARKER ${marker!.id} proposed at ${L.id} (term ${L.driver!.core.term})`);
        }
      } else if (marker.outcome === 'committed') {
        const L = sim.leader();
        if (L) {
          const final = members(L);
          done = final.every((id) => {
            const n = sim.nodes.get(id);
            return n !== undefined && n.up && n.driver!.core.log.applied >= marker!.index!;
          });
        }
      }
    }
    healing = false;
    if (!done && checker.violations.length === 0) {
      const L = sim.leader();
      const state = [...sim.nodes.values()]
        .filter((n) => !n.retired)
        .map((n) => (n.up ? `${n.id}:${n.driver!.core.role}/t${n.driver!.core.term}/a${n.driver!.core.log.applied}` : `${n.id}:down`))
        .join(' ');
      checker.fail(`liveness: no new entry committed and applied by every member within 60 election timeouts after healing (leader ${L?.id ?? 'none'}, marker ${marker?.outcome ?? 'none'}; ${state})`);
    }
  }
  sim.stats.longDelays = sim.net.longDelayed;
  const outcomes: Record<string, number> = {};
  for (const p of proposals) outcomes[p.outcome] = (outcomes[p.outcome] ?? 0) + 1;
  for (const p of proposals) checker.checkOutcome(p.id, p.outcome, p.index, p.term);
  for (const n of sim.nodes.values()) if (n.up) n.driver!.halt();
  return { seed, nodes: ro.nodes, violations: checker.violations, stats: sim.stats, trace: sim.trace, outcomes };
}
