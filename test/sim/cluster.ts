// A simulated cluster: every node is the production driver (RaftNode) with in-memory storage on
// a simulated disk, a KV state machine and the in-memory network, all on one virtual clock.
// Nodes can crash (losing every unflushed write), restart, pause (with per-node clock drift),
// and be added or removed.

import { RaftNode } from '../../src/consensus/driver.ts';
import type { MemDisk } from '../../src/consensus/memory-disk.ts';
import { MemoryNetwork, type NetworkFaults } from '../../src/consensus/memory-network.ts';
import { MemoryStorage, newMemDisk, type NodeDiskState } from '../../src/consensus/memory-storage.ts';
import type { Mutations } from '../../src/consensus/raft.ts';
import { SeededRand, seedFrom } from '../../src/consensus/rand.ts';
import type { PersistWrite } from '../../src/consensus/storage.ts';
import type { Timer } from '../../src/consensus/timer.ts';
import type { Transport } from '../../src/consensus/transport.ts';
import { describeMessage, describeReady } from '../../src/consensus/describe.ts';
import type { Message, NodeId } from '../../src/consensus/types.ts';
import { KvStateMachine, type KvState } from '../support/kv-state-machine.ts';
import type { Checker } from './checker.ts';
import { VirtualClock } from './clock.ts';

export interface SimOptions {
  tickMs: number;
  electionTicks: number;
  /** Disk flush latency, virtual ms, uniform in [0, diskMaxMs]. */
  diskMaxMs: number;
  snapshotEntries: number;
  keepEntries: number;
  snapshotChunkBytes: number;
  maxEntriesPerMsg: number;
  /** In-flight appends per follower (small windows fill while a follower is down). */
  maxInflight: number;
  leaseReads: boolean;
  maxClockDrift: number;
  mutations: Mutations;
}

export interface SimStats {
  elections: number;
  truncations: number;
  crashesBetweenPersistAndSend: number;
  crashes: number;
  snapshotsSent: number;
  snapshotsInstalled: number;
  confChanges: number;
  transfers: number;
  readsServed: number;
  leaseReads: number;
  proposalsCommitted: number;
  gracefulStops: number;
  forwardedProposals: number;
  retriedRequestIds: number;
  longDelays: number;
  fastRestarts: number;
  slowDisks: number;
  removedStayingUp: number;
  /** Readies taken while an earlier one's write was still in flight. */
  pipelinedReadies: number;
  /** Crashes and stops whose peers saw the connections close (RaftCore.leaderGone). */
  connectionsClosed: number;
}

export const emptyStats = (): SimStats => ({
  elections: 0,
  truncations: 0,
  crashesBetweenPersistAndSend: 0,
  crashes: 0,
  snapshotsSent: 0,
  snapshotsInstalled: 0,
  confChanges: 0,
  transfers: 0,
  readsServed: 0,
  leaseReads: 0,
  proposalsCommitted: 0,
  gracefulStops: 0,
  forwardedProposals: 0,
  retriedRequestIds: 0,
  longDelays: 0,
  fastRestarts: 0,
  slowDisks: 0,
  removedStayingUp: 0,
  pipelinedReadies: 0,
  connectionsClosed: 0,
});

/** The storage the simulator gives a node: the in-memory one, with the checker looking at every
 * write before it is made. */
class CheckedStorage extends MemoryStorage {
  constructor(disk: MemDisk<NodeDiskState>, private readonly onWrite: (w: PersistWrite) => void) {
    super(disk);
  }
  override persist(w: PersistWrite): Promise<void> {
    this.onWrite(w);
    return super.persist(w);
  }
}

export class SimNode {
  readonly disk: MemDisk<NodeDiskState>;
  driver: RaftNode | undefined;
  sm: KvStateMachine | undefined;
  up = false;
  paused = false;
  /** Removed from the configuration and shut down for good. */
  retired = false;
  incarnation = 0;
  /** Clock rate relative to the virtual clock (drift), and offset, ms. */
  readonly rate: number;
  readonly offset: number;
  /** Work that arrived while paused: run on resume. */
  deferred: (() => void)[] = [];
  inbox: Message[] = [];
  /** The node's clock (drifting), for the code that runs on it (Proposer). */
  timer: Timer | undefined;
  /** A graceful stop is under way. */
  stopping = false;
  /** The disk is slow until this virtual time: each flush takes slowMs more. */
  slowUntil = 0;
  slowMs = 0;

  constructor(readonly id: NodeId, rate: number, offset: number, schedule: (flush: () => void) => void) {
    this.rate = rate;
    this.offset = offset;
    this.disk = newMemDisk(schedule);
  }
}

export class SimCluster {
  readonly clock = new VirtualClock();
  readonly net: MemoryNetwork;
  readonly nodes = new Map<NodeId, SimNode>();
  readonly stats = emptyStats();
  trace: string[] | undefined;
  /** Called when a node is first seen leading a new term (fault injection hooks in here). */
  onNewLeader: ((n: SimNode) => void) | undefined;
  private leaderTerms = new Set<number>();
  /** Leaders' commit index at the last observation (the quorum check runs when it advances). */
  private leaderCommitSeen = new Map<SimNode, number>();

  constructor(
    readonly seed: number,
    readonly rand: SeededRand,
    readonly opts: SimOptions,
    readonly checker: Checker,
    faults: NetworkFaults,
    tracing: boolean,
  ) {
    if (tracing) this.trace = [];
    this.net = new MemoryNetwork(new SeededRand(seed ^ 0x5bd1e995), (d, fn) => this.clock.after(d, fn), faults);
    checker.leaderLogTerm = (term, index) => {
      for (const n of this.nodes.values()) {
        const c = n.up ? n.driver?.core : undefined;
        if (c && c.role === 'leader' && c.term === term) return index <= c.log.lastIndex() ? c.log.term(index) : undefined;
      }
      return undefined;
    };
    this.net.onSend = (m) => {
      const n = this.nodes.get(m.from);
      if (n) this.checker.onSend(m, n.disk.durable.raft);
      if (m.type === 'snap' && m.snap!.offset === 0) this.stats.snapshotsSent++;
      this.log(() => describeMessage(m));
    };
  }

  log(line: () => string): void {
    if (!this.trace) return;
    this.trace.push(`${this.clock.now.toFixed(0).padStart(6)} ${line()}`);
    if (this.trace.length > 400_000) this.trace.splice(0, 100_000);
  }

  addNode(id: NodeId): SimNode {
    // Within the drift bound, [1 - d, 1 + d]; a third of the nodes at an extreme, where lease
    // bugs show.
    const d = this.opts.maxClockDrift;
    const rate = this.rand.chance(1 / 3) ? this.rand.pick([1 - d, 1 + d]) : 1 + (this.rand.next() * 2 - 1) * d;
    const n = new SimNode(id, rate, this.rand.int(100_000), (flush) => {
      // A slow disk (slowDisk) takes tens of ms per flush for a while.
      const slow = this.clock.now < n.slowUntil ? n.slowMs : 0;
      this.clock.after(slow + this.rand.int(this.opts.diskMaxMs + 1), () => this.whenRunning(n, flush));
    });
    this.nodes.set(id, n);
    return n;
  }

  /** Runs `fn` now, or when the node resumes if it is paused. */
  whenRunning(n: SimNode, fn: () => void): void {
    if (n.paused) n.deferred.push(fn);
    else fn();
  }

  start(n: SimNode, bootstrap: NodeId[] | undefined): void {
    n.incarnation++;
    const c = this.checker;
    const storage = new CheckedStorage(n.disk, (w) => {
      const r = c.onPersist(n.id, w, n.disk.visible.raft, n.driver!.core);
      if (r.truncated) this.stats.truncations++;
      for (const o of w.snapshotOps) if (o.op === 'install') this.stats.snapshotsInstalled++;
    });
    const sm = new KvStateMachine(n.disk, {
      onApply: (entries, hashes) => {
        c.onApply(n.id, entries, hashes);
        for (const e of entries) if (e.change && e.change.type !== 'bootstrap') this.stats.confChanges++;
      },
      onRestore: (meta, state) => c.onRestore(n.id, meta, state),
    });
    const clock = this.clock;
    const life = n.incarnation;
    const timer: Timer = {
      now: () => clock.now * n.rate + n.offset,
      setInterval: (fn, ms) => {
        const h = { cancelled: false };
        const period = ms / n.rate;
        const fire = () => {
          // Timers die with the process (a crash or a stop ends this life).
          if (h.cancelled || n.incarnation !== life || !n.up) return;
          if (!n.paused) fn();
          clock.after(period, fire);
        };
        clock.after(period, fire);
        return h;
      },
      clearInterval: (h) => {
        (h as { cancelled: boolean }).cancelled = true;
      },
    };
    const net = this.net;
    const transport: Transport = {
      send: (ms) => net.send(ms),
      listen: (id, receive, gone) =>
        net.listen(id, (m) => (n.paused ? n.inbox.push(m) : receive(m)), gone && ((peer) => (n.paused ? n.deferred.push(() => gone(peer)) : gone(peer)))),
      close: (id) => net.close(id),
    };
    const o = this.opts;
    const driver = new RaftNode({
      id: n.id,
      storage,
      stateMachine: sm,
      transport,
      timer,
      rand: new SeededRand(seedFrom(n.id, this.seed + n.incarnation * 7919)),
      tickMs: o.tickMs,
      snapshotEntries: o.snapshotEntries,
      keepEntries: o.keepEntries,
      defer: queueMicrotask,
      requestTimeoutMs: 30 * o.tickMs * o.electionTicks,
      raft: {
        electionTicks: o.electionTicks,
        heartbeatTicks: 1,
        maxEntriesPerMsg: o.maxEntriesPerMsg,
        maxInflight: o.maxInflight,
        snapshotChunkBytes: o.snapshotChunkBytes,
        catchUpMargin: 20,
        leaseReads: o.leaseReads,
        maxClockDrift: o.maxClockDrift,
        mutations: o.mutations,
        ...(bootstrap ? { bootstrap: { voters: bootstrap } } : {}),
      },
      onReady: (rd) => {
        if (this.trace) this.log(() => `${n.id} ready: ${describeReady(rd).replaceAll('\n', ' | ')}`);
        if (n.driver && n.driver.writesInFlight > 0) this.stats.pipelinedReadies++;
        // A leader's commit is checked when the Ready that carries it is handed over: the
        // configuration then is the one the commit was decided under (entries applied by this
        // Ready, a configuration change among them, take effect only after it).
        const core = n.driver?.core;
        if (core && core.role === 'leader' && rd.hardState && rd.hardState.commit > (this.leaderCommitSeen.get(n) ?? 0)) {
          if (core.committedInTerm()) this.checker.checkCommitQuorum(n.id, core, (id) => this.nodes.get(id)?.disk.durable.raft);
          this.leaderCommitSeen.set(n, rd.hardState.commit);
        }
      },
      onFatal: (err) => this.checker.fail(`node ${n.id} failed: ${(err as Error).stack ?? err}`),
      // Every peer here runs the same correct code: a refused message is a bug.
      onRefused: (why) => this.checker.fail(`node ${n.id} refused a message of a correct peer: ${why}`),
    });
    n.driver = driver;
    n.timer = timer;
    n.sm = sm;
    n.up = true;
    n.paused = false;
    void driver.start();
    // The follower commit rule, checked on every message the core steps (start() built the core).
    const core = driver.core;
    const step = core.step.bind(core);
    core.step = (m) => {
      const before = core.log.committed;
      step(m);
      this.checker.checkFollowerCommit(n.id, m, before, core.log.committed);
    };
    c.restarted(n.id);
    this.log(() => `${n.id} START #${n.incarnation}`);
  }

  crash(n: SimNode): void {
    if (!n.up) return;
    n.stopping = false;
    if (n.driver!.persistingWithMessages) this.stats.crashesBetweenPersistAndSend++;
    this.stats.crashes++;
    n.driver!.halt();
    n.disk.crash();
    n.up = false;
    this.connectionsClose(n, 0.7);
    n.paused = false;
    n.deferred = [];
    n.inbox = [];
    this.log(() => `${n.id} CRASH`);
  }

  /** Graceful stop (RaftNode.stop, as on SIGTERM): then the process exits cleanly, its writes
   * flushed. The node is down once the stop resolves. */
  stop(n: SimNode, then?: () => void): void {
    if (!n.up || n.stopping || n.paused) return;
    n.stopping = true;
    this.stats.gracefulStops++;
    this.log(() => `${n.id} STOP`);
    const d = n.driver!;
    void d.stop().then(() => {
      if (n.driver !== d || !n.up) return;
      n.disk.flush();
      d.halt();
      n.up = false;
      n.stopping = false;
      this.connectionsClose(n, 1);
      this.log(() => `${n.id} STOPPED`);
      then?.();
    });
  }

  /** `n`'s process is gone: with probability `p` (a process that exited or was killed, not a
   * machine that went silent) its peers see its connections close within a few ms. */
  private connectionsClose(n: SimNode, p: number): void {
    if (!this.rand.chance(p)) return;
    this.stats.connectionsClosed++;
    this.net.peerGone(n.id, 1 + this.rand.int(3));
  }

  /** The disk of `n` takes `ms` more per flush for `forMs`. */
  slowDisk(n: SimNode, ms: number, forMs: number): void {
    n.slowMs = ms;
    n.slowUntil = this.clock.now + forMs;
    this.stats.slowDisks++;
    this.log(() => `${n.id} SLOW DISK ${ms}ms for ${forMs}ms`);
  }

  pause(n: SimNode): void {
    if (!n.up || n.paused) return;
    n.paused = true;
    this.log(() => `${n.id} PAUSE`);
  }

  resume(n: SimNode): void {
    if (!n.paused) return;
    n.paused = false;
    this.log(() => `${n.id} RESUME`);
    const work = n.deferred;
    n.deferred = [];
    for (const fn of work) fn();
    const inbox = n.inbox;
    n.inbox = [];
    // The driver delivers every missed tick before stepping these (see RaftNode.run).
    for (const m of inbox) n.driver!.receive(m);
  }

  /** Checks invariants on every running node (after each event). */
  observe(): void {
    for (const n of this.nodes.values()) {
      if (!n.up) continue;
      const core = n.driver!.core;
      if (core.role === 'leader' && !this.leaderTerms.has(core.term)) {
        this.leaderTerms.add(core.term);
        this.stats.elections++;
        this.onNewLeader?.(n);
      }
      const durableApplied = (n.disk.durable.app as KvState | undefined)?.applied ?? 0;
      if (core.role === 'leader') this.checker.checkMatch(n.id, core);
      else this.leaderCommitSeen.delete(n);
      this.checker.observe(n.id, core, n.disk.durable.raft, durableApplied);
    }
  }

  /** The node that believes it leads with the highest term, if any (running, not paused). */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      if (!n.up || n.paused) continue;
      const c = n.driver!.core;
      if (c.role === 'leader' && (!best || c.term > best.driver!.core.term)) best = n;
    }
    return best;
  }

  running(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up && !n.paused);
  }
}
