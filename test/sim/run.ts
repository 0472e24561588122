// One simulation run from one seed: a fault phase (random proposals, reads, crashes, restarts,
// pauses, partitions, message faults, membership changes, leader transfers) followed by a healing
// phase in which liveness must hold. Every random choice comes from the seed.

import type { ConsensusError } from '../../src/consensus/errors.ts';
import type { Mutations } from '../../src/consensus/raft.ts';
import { SeededRand } from '../../src/consensus/rand.ts';
import type { NodeId } from '../../src/consensus/types.ts';
import { encodeCommand } from '../support/kv-state-machine.ts';
import { Checker } from './checker.ts';
import { SimCluster, type SimNode, type SimOptions, type SimStats } from './cluster.ts';

export interface RunOptions {
  nodes: number;
  /** Client and fault actions in the fault phase. */
  steps: number;
  mutations?: Mutations;
  trace?: boolean;
}

export interface RunResult {
  seed: number;
  nodes: number;
  violations: string[];
  stats: SimStats;
  trace: string[] | undefined;
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
  const baseFaults = () => ({
    drop: rand.pick([0, 0.01, 0.05, 0.15]),
    duplicate: rand.pick([0, 0.02, 0.05]),
    minDelay: 1,
    maxDelay: rand.pick([2, 8, 20, 40]),
  });
  // Leader churn in a third of the seeds (see below); its appends carry one entry each, so old
  // entries and a new leader's empty entry travel apart.
  const churn = rand.chance(1 / 3);
  if (churn) opts.maxEntriesPerMsg = 1;
  const checker = new Checker();
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

  const propose = (target: SimNode, id: string): ProposalRecord => {
    const rec: ProposalRecord = { id, outcome: 'pending' };
    proposals.push(rec);
    const data = encodeCommand({ id, key: `k${rand.int(8)}`, value: id });
    target.driver!.propose(data).then(
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

  const read = (n: SimNode) => {
    const rec = { node: n.id, ackedBefore: ackedMax, readBefore: checker.maxReadServed };
    n.driver!.read((p) => {
      checker.checkRead(rec, p.index, p.applied, n.sm!.state.hash);
      sim.stats.readsServed++;
      if (p.lease) sim.stats.leaseReads++;
    }).catch(() => {});
  };

  const retire = (id: NodeId) => {
    const n = sim.nodes.get(id);
    if (!n) return;
    n.retired = true;
    sim.crash(n);
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
    switch (rand.int(12)) {
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
          sim.clock.after(20 + rand.int(400), () => sim.resume(n));
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
    }
  };

  // Leader churn (a third of the seeds): a new leader is soon crashed or cut off, so that it
  // leaves entries replicated to some nodes but not others (the logs of Raft's Figure 8).
  let faultPhase = true;
  if (churn) {
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
  const nextAction = () => {
    sim.clock.after(1 + rand.int(25), () => {
      if (actions++ >= ro.steps) {
        faultPhase = false;
        return;
      }
      const r = rand.next();
      const L = sim.leader();
      if (r < 0.5) {
        // Mostly the current leader; sometimes any node that believes it leads (a deposed leader
        // appends entries it cannot replicate: the divergent logs of Figure 8), or any node.
        const believers = sim.running().filter((n) => n.driver!.core.role === 'leader');
        const x = rand.next();
        const target = x < 0.6 ? L : x < 0.85 ? any(believers) : any(sim.running());
        if (target) propose(target, `p${propSeq++}`);
      } else if (r < 0.72) {
        const n = any(sim.running());
        if (n) read(n);
      } else fault();
      nextAction();
    });
  };
  nextAction();
  while (faultPhase && checker.violations.length === 0 && sim.clock.size > 0) await step();

  // ---- healing phase: liveness must hold within a bounded number of election timeouts ----
  if (checker.violations.length === 0) {
    sim.net.heal();
    sim.net.faults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 5 };
    for (const n of sim.nodes.values()) {
      if (n.paused) sim.resume(n);
      if (!n.up && !n.retired) sim.start(n, ids);
    }
    sim.log(() => 'HEALED: liveness phase');
    const electionMs = opts.electionTicks * opts.tickMs;
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
          marker = propose(L, `marker${propSeq++}`);
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
    if (!done && checker.violations.length === 0) {
      const L = sim.leader();
      const state = [...sim.nodes.values()]
        .filter((n) => !n.retired)
        .map((n) => (n.up ? `${n.id}:${n.driver!.core.role}/t${n.driver!.core.term}/a${n.driver!.core.log.applied}` : `${n.id}:down`))
        .join(' ');
      checker.fail(`liveness: no new entry committed and applied by every member within 60 election timeouts after healing (leader ${L?.id ?? 'none'}, marker ${marker?.outcome ?? 'none'}; ${state})`);
    }
  }
  for (const p of proposals) checker.checkOutcome(p.id, p.outcome, p.index, p.term);
  for (const n of sim.nodes.values()) if (n.up) n.driver!.halt();
  return { seed, nodes: ro.nodes, violations: checker.violations, stats: sim.stats, trace: sim.trace };
}
