// The driver's loop: production code that gives the pure core storage, time and a network (the
// request API on top of it is driver.ts: RaftNode).
//
// One loop, never re-entered: deliver every tick that is due (so a process that was paused
// delivers all missed ticks before stepping any message), step queued messages and operations,
// take the Ready, send what may leave and start its write (one durable write; none when only the
// commit index changed). The rest of each Ready — send what had to wait for its write,
// apply committed entries, advance — runs on a pipeline, Ready after Ready in order, while the
// loop goes on stepping and taking Readies (etcd's asynchronous storage writes): a leader sends
// the next batch to its followers while its own write of the previous one is in flight, and
// counts itself toward a commit only up to what its completed writes made durable. At most
// `maxWritesInFlight` Readies are in the pipeline; inputs that arrive meanwhile queue up and go
// out together in the next Ready (group commit). A snapshot chunk is stepped, and a Ready with
// snapshot operations handled, only with nothing else in flight.

import { ControlWaiters } from './control-waiters.ts';
import { describeReady } from './describe.ts';
import { silentLogger, type DriverLogger, type RaftNodeOptions } from './driver-options.ts';
import { asConsensusError, ConsensusError, shuttingDown } from './errors.ts';
import { RaftCore } from './raft.ts';
import { lastInstall } from './ready.ts';
import { MustSync } from './must-sync.ts';
import { restoreFromSnapshot, Snapshotter } from './snapshotter.ts';
import { Waiters } from './waiters.ts';
import { WritePipeline, type Flight } from './write-pipeline.ts';
import { MessageType, Role, type Message, type NodeId, type Ready, type SnapshotMeta, type SoftState } from './types.ts';

export class DriverLoop {
  readonly id: NodeId;
  core!: RaftCore;
  protected readonly opts: RaftNodeOptions;
  private readonly tickMs: number;
  private readonly log: DriverLogger;
  private timerHandle: unknown;
  private lastTickAt = 0;
  private inbox: Message[] = [];
  /** Work submitted by callers, run inside the loop; `fail` ends it if the node stops first
   * (nothing of it reached the core: a definite SHUTTING_DOWN). */
  private ops: { run: () => void; fail: (e: ConsensusError) => void }[] = [];
  private running = false;
  private scheduled = false;
  /** The loop's current run (settles when it goes idle). */
  private loop: Promise<void> = Promise.resolve();
  /** A state machine restore started at start(); nothing is applied before it completes. */
  private restoring: Promise<void> | undefined;
  protected stopped = false;
  private halted = false;
  private failed = false;
  /** The stop in progress (stop() called again waits for the same one). */
  private stopping: Promise<void> | undefined;
  private readonly pipeline: WritePipeline;
  private readonly maxFlights: number;
  private readonly defer: (fn: () => void) => void;
  protected readonly waiters: Waiters;
  protected readonly control: ControlWaiters;
  protected snapshotWaiters: ((m: SnapshotMeta | undefined) => void)[] = [];
  protected readSeq = 0;
  /** Differs between starts of this node, so that a late answer to a read of an earlier life
   * never matches a read of this one. */
  protected nonce = '';
  private snapshots!: Snapshotter;
  /** Which write each Ready needs (must-sync.ts). */
  private writes!: MustSync;
  private soft: SoftState = { lead: null, role: Role.Follower, learner: true };

  constructor(opts: RaftNodeOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.tickMs = opts.tickMs ?? 100;
    this.log = opts.logger ?? silentLogger;
    this.waiters = new Waiters(opts.raft?.mutations?.outcomeByIndexOnly === true);
    this.control = new ControlWaiters(this.waiters);
    this.pipeline = new WritePipeline(
      () => this.halted,
      (err) => this.fail(err),
    );
    this.maxFlights = Math.max(1, opts.maxWritesInFlight ?? 4);
    this.defer = opts.defer ?? ((fn) => void setImmediate(fn));
  }

  /** Readies in the pipeline (observable: the simulator counts pipelined Readies). */
  get writesInFlight(): number {
    return this.pipeline.size;
  }

  /** A write is in flight with messages waiting for it (observable for fault injection). */
  get persistingWithMessages(): boolean {
    return this.pipeline.persistingWithMessages;
  }

  /** Builds the core from durable state and starts ticking. If the state machine is behind the
   * installed snapshot (a crash between the two halves of an install), it is restored from the
   * stored image before anything is applied; the returned promise settles once that is done
   * (until then the core's applied index is ahead of the state machine: serve nothing local). */
  start(): Promise<void> {
    const o = this.opts;
    const snap = o.storage.snapshot();
    let applied = o.stateMachine.applied();
    if (snap && applied < snap.index) {
      this.log.warn({ node: this.id, snapshot: snap.id, applied }, 'state machine behind the installed snapshot: restoring it');
      this.restoring = restoreFromSnapshot(o.storage, o.stateMachine, snap);
      applied = snap.index;
    }
    this.core = new RaftCore({ ...(o.raft ?? {}), id: o.id, storage: o.storage, applied, rand: o.rand });
    const durable = o.storage.hardState();
    this.writes = new MustSync(durable);
    this.snapshots = new Snapshotter(o, this.core, this.log, (err) => this.fail(err));
    this.nonce = o.rand.int(2 ** 31).toString(36);
    this.soft = this.core.softState();
    o.transport.listen(o.id, (m) => this.receive(m), (peer) => this.peerGone(peer));
    this.lastTickAt = o.timer.now();
    this.timerHandle = o.timer.setInterval(() => this.kick(), this.tickMs);
    this.kick();
    // A failed restore is reported by the loop (onFatal); this promise only says "settled".
    return (this.restoring ?? Promise.resolve()).catch(() => undefined);
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** A peer's connection closed (RaftCore.leaderGone decides what that means). */
  peerGone(peer: NodeId): void {
    if (this.halted || this.stopped) return;
    this.ops.push({ run: () => this.core.leaderGone(peer), fail: () => undefined });
    this.kick();
  }

  receive(m: Message): void {
    if (this.halted || this.stopped) return;
    this.inbox.push(m);
    this.kick();
  }

  /**
   * Graceful stop. No new work: requests not yet handed to the core end SHUTTING_DOWN (never
   * appended), as do reads, promotions and transfers. The Ready in flight is finished (persisted,
   * sent, applied); then entries already known committed are applied — at most
   * STOP_APPLY_READIES Readies, sending nothing — so their proposals resolve. A proposal still
   * waiting after that was appended and may commit (or did, unapplied here): UNKNOWN, never a
   * definite failure. Resolves once the loop is idle, so the caller can then close storage.
   */
  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopped = true;
      this.opts.timer.clearInterval(this.timerHandle);
      this.opts.transport.close(this.id);
      const err = shuttingDown();
      for (const op of this.ops.splice(0)) op.fail(err);
      this.waiters.failReads(err);
      this.failControl(err);
      this.stopping = (async () => {
        await this.loop;
        await this.pipeline.drain();
        await this.snapshots?.idle();
        await this.applyKnownCommitted();
        await this.snapshots?.idle();
        const left = this.writes?.takeUnwritten();
        if (left && !this.halted) {
          await this.opts.storage.persist(left).catch((err: unknown) => {
            this.log.warn({ node: this.id, err: (err as Error).message }, 'writing the commit index at stop failed');
          });
        }
      })();
    }
    return this.stopping;
  }

  /** At stop: applies entries known committed (bounded), then ends every entry waiter UNKNOWN. */
  private async applyKnownCommitted(): Promise<void> {
    if (!this.core) return; // stopped before it started: nothing was ever submitted
    try {
      for (let k = 0; k < STOP_APPLY_READIES && !this.halted && this.core.log.hasNextCommitted(); k++) {
        const rd = this.core.ready();
        rd.messages = []; // a stopping node sends nothing more
        rd.persistedMessages = [];
        this.dispatch(rd);
        await this.pipeline.drain();
      }
    } catch (err) {
      this.log.error({ err, node: this.id }, 'applying committed entries at stop failed');
    }
    this.waiters.entriesUncertain(this.core.log.committed, 'the node stopped');
  }

  /** Simulated crash: stop at once, resolve nothing, send nothing more. */
  halt(): void {
    this.halted = true;
    this.stopped = true;
    this.opts.timer.clearInterval(this.timerHandle);
    this.opts.transport.close(this.id);
  }

  /**
   * A caller's request: `run` goes inside the loop (it may touch the core); a throw from it
   * rejects the request as a ConsensusError. Refused SHUTTING_DOWN once the node stops — also
   * while queued, since nothing of it reached the core.
   */
  protected request<T>(run: (resolve: (v: T) => void, reject: (e: ConsensusError) => void) => void): Promise<T> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(shuttingDown());
      this.ops.push({
        fail: reject,
        run: () => {
          try {
            run(resolve, reject);
          } catch (e) {
            reject(asConsensusError(e));
          }
        },
      });
      this.kick();
    });
  }

  // ---- the loop -----------------------------------------------------------------------------

  /** Starts the loop through `defer` (setImmediate by default: after every I/O callback of this
   * turn of the event loop), so that everything that arrived in the same turn (many requests, a
   * burst of peer messages) goes into one Ready and one write — group commit. */
  protected kick(): void {
    if (this.running || this.scheduled || this.stopped) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      if (!this.running && !this.stopped) this.loop = this.run();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      if (this.restoring) {
        await this.restoring;
        this.restoring = undefined;
      }
      while (!this.stopped) {
        if (this.pipeline.size > 0 && this.inbox.some((m) => m.type === MessageType.Snap)) {
          // An install decides about the log suffix from what is durable: nothing in flight.
          await this.pipeline.drain();
          continue;
        }
        this.deliverTicks();
        const inbox = this.inbox;
        this.inbox = [];
        for (const m of inbox) this.core.step(m);
        for (const why of this.core.takeRefused()) {
          this.log.warn({ node: this.id, why }, 'peer message refused by the consensus core');
          this.opts.onRefused?.(why);
        }
        const ops = this.ops;
        this.ops = [];
        for (const op of ops) op.run();
        if (!this.core.hasReady()) {
          if (this.snapshotWaiters.length > 0) {
            // Taken between Readies, in pipeline order: the applied configuration matches.
            const waiters = this.snapshotWaiters.splice(0);
            void this.pipeline.chain(async () => {
              const t = await this.snapshots.take();
              if (!t) for (const w of waiters) w(undefined);
              // Resolved once saved (a failure stops the node: onError).
              else t.saved.then(() => waiters.forEach((w) => w(t.meta)), () => waiters.forEach((w) => w(undefined)));
            });
          }
          break;
        }
        if (this.pipeline.size >= this.maxFlights) {
          await this.pipeline.oldestDone();
          continue;
        }
        const rd = this.core.ready();
        this.dispatch(rd);
        if (rd.snapshotOps.length > 0) await this.pipeline.drain();
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.running = false;
    }
  }

  /** A fatal error (storage failure, broken invariant): the node stops, and everything waiting
   * ends — definitely for what never reached the core, UNKNOWN for appended entries. */
  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.log.error({ err, node: this.id }, 'raft driver failed');
    this.halt();
    const e = new ConsensusError('SHUTTING_DOWN', `node stopped: ${(err as Error).message}`, { cause: err });
    for (const op of this.ops.splice(0)) op.fail(e);
    this.waiters.failReads(e);
    this.failControl(e);
    this.waiters.entriesUncertain(this.core.log.committed, `the node failed: ${(err as Error).message}`);
    this.opts.onFatal?.(err);
  }

  /** Delivers every tick that is due by the clock, before any message is stepped. */
  private deliverTicks(): void {
    const now = this.opts.timer.now();
    const due = Math.floor((now - this.lastTickAt) / this.tickMs);
    if (due <= 0) return;
    this.lastTickAt += due * this.tickMs;
    for (let i = 0; i < due; i++) {
      this.core.tick();
      this.onTick();
    }
  }

  /** Sends what may leave now, starts the Ready's write, and puts the rest on the pipeline. */
  private dispatch(rd: Ready): void {
    const o = this.opts;
    o.onReady?.(rd);
    if (o.traceReady) this.log.debug({ node: this.id, ready: describeReady(rd).split('\n') }, 'ready');
    if (rd.withdrawAcksFrom !== undefined) this.pipeline.withdrawAcks(rd.withdrawAcksFrom);
    o.transport.send(rd.messages);
    const write = this.writes.writeFor(rd);
    const written = write ? o.storage.persist(write) : Promise.resolve();
    this.pipeline.push(rd, written, (f) => this.complete(f));
  }

  /** The rest of a Ready, once its write is durable: persisted messages, restore, apply, advance. */
  private async complete(flight: Flight): Promise<void> {
    const o = this.opts;
    const rd = flight.rd;
    await flight.written;
    if (this.halted) return;
    const install = lastInstall(rd.snapshotOps);
    if (install) {
      // The Raft side of the install is durable; now the state machine. A crash in between is
      // repaired at the next start (see start()): the stored image is restored before any apply.
      await restoreFromSnapshot(o.storage, o.stateMachine, install.meta);
      if (this.halted) return;
    }
    flight.sent = true;
    o.transport.send(rd.persistedMessages);
    if (rd.committedEntries.length > 0) {
      const results = await o.stateMachine.apply(rd.committedEntries);
      if (this.halted) return;
      rd.committedEntries.forEach((e, i) => this.waiters.applied(e.index, e.term, results[i]));
      o.onApplied?.(rd.committedEntries.length);
    }
    if (install) this.waiters.coveredBySnapshot(install.meta.index);
    this.core.advance(rd);
    if (rd.softState) this.onSoftState(rd.softState);
    for (const rs of rd.readStates) this.waiters.readState(rs, this.core.lead);
    this.waiters.serveReads(this.core.log.applied);
    this.checkPromotions();
    await this.snapshots.maybeTake();
    this.pipeline.finished();
    this.kick(); // advance may have made work (a commit, a won election, entries to apply)
  }

  private onSoftState(ss: SoftState): void {
    const wasLeader = this.soft.role === Role.Leader;
    this.soft = ss;
    if (wasLeader && ss.role !== Role.Leader) {
      // Appended but not known committed: the outcome is unknown (it may commit under the next
      // leader). Entries already known committed will still be applied and resolved.
      this.waiters.lostLeadership(this.core.log.committed, ss.lead);
      this.control.lostLeadership(ss.lead);
    }
    this.control.leaderIs(ss.lead);
  }

  protected checkPromotions(): void {
    this.control.checkPromotions(this.core, this.deadline(this.opts.requestTimeoutMs ?? 10_000));
  }

  private onTick(): void {
    const now = this.core.ticks;
    this.waiters.expire(now, this.core.lead);
    this.control.expire(now, this.core.lead);
    if (this.control.waitingPromotions > 0) this.checkPromotions();
  }

  protected deadline(ms: number): number {
    return this.core.ticks + Math.max(1, Math.ceil(ms / this.tickMs));
  }

  /** Ends promotions, transfers and snapshot requests (none of them appended anything). */
  private failControl(err: ConsensusError): void {
    this.control.failAll(err);
    for (const w of this.snapshotWaiters.splice(0)) w(undefined);
  }
}

/** Readies applied at most by stop() for entries known committed before it ends their waiters. */
const STOP_APPLY_READIES = 64;
