// The Raft node's request API (what the server and the simulator call): proposals, appends for
// forwarded writes, linearizable reads, waits for forwarded entries, membership changes,
// snapshots on request, leadership transfers. Each runs inside the driver's loop
// (driver-loop.ts), which owns the core, the pipeline of Readies and the node's lifecycle.

import { DriverLoop } from './driver-loop.ts';
import type { ConsensusError } from './errors.ts';
import type { RaftStatus } from './raft.ts';
import type { ConfChange, NodeId, SnapshotMeta } from './types.ts';
import type { Committed, ReadPoint } from './waiters.ts';

export type { DriverLogger, RaftNodeOptions } from './driver-options.ts';
export type { Committed, ReadPoint } from './waiters.ts';

export class RaftNode extends DriverLoop {
  /** Proposes one entry; resolves when it is applied here, or rejects with a typed outcome. */
  propose(data: Uint8Array, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<Committed> {
    return this.request((resolve, reject) => {
      const [{ index, term }] = this.core.propose([data]) as [{ index: number; term: number }];
      this.waiters.addProposal(index, { term, deadline: this.deadline(timeoutMs), resolve, reject });
    });
  }

  /**
   * Appends one entry (this node must lead) and resolves with where it landed, without waiting
   * for its outcome: a follower that forwarded the write waits for that (index, term) itself
   * (waitApplied), and learns SUPERSEDED if another entry takes the index. Rejects NOT_LEADER or
   * DROPPED (nothing appended).
   */
  append(data: Uint8Array): Promise<{ index: number; term: number }> {
    return this.request((resolve) => resolve((this.core.propose([data]) as [{ index: number; term: number }])[0]));
  }

  /**
   * A linearizable read: obtains a read index (through the leader), waits until this node has
   * applied it, then calls `serve` synchronously — read the state machine inside it.
   */
  read<T>(serve: (p: ReadPoint) => T, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<T> {
    const context = `${this.id}:${this.nonce}:${++this.readSeq}`;
    return this.request((resolve, reject) => {
      const safeServe = (p: ReadPoint) => {
        try {
          resolve(serve(p));
        } catch (e) {
          reject(e as ConsensusError);
        }
      };
      this.waiters.addRead(context, this.deadline(timeoutMs), safeServe, reject);
      this.core.readIndex(context);
    });
  }

  /**
   * Waits until this node applies the entry at `index`: resolves with its result if it is of
   * `term` (the result is undefined only if it was applied more than RECENT_RESULTS entries ago),
   * rejects SUPERSEDED if another entry took the index. Used after a proposal was
   * forwarded to the leader, so the node that took a request answers once IT has applied it.
   */
  waitApplied(index: number, term: number, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<Committed> {
    return this.request((resolve, reject) => {
      const applied = index <= this.core.log.applied ? this.core.log.term(index) : null;
      this.waiters.addForwarded(index, { term, deadline: this.deadline(timeoutMs), resolve, reject }, applied);
    });
  }

  /** Proposes a membership change at this node (which must be the leader). */
  changeConf(cc: ConfChange, timeoutMs = this.opts.requestTimeoutMs ?? 10_000): Promise<Committed> {
    return this.request((resolve, reject) => {
      const { index, term } = this.core.proposeConfChange(cc);
      this.waiters.addProposal(index, { term, deadline: this.deadline(timeoutMs), resolve, reject });
    });
  }

  /**
   * Promotes a learner once it is within the catch-up margin; abandoned (PROMOTION_TIMEOUT) if it
   * does not converge within `promotionElections` election timeouts.
   */
  promote(node: NodeId): Promise<Committed> {
    return this.request((resolve, reject) => {
      const ticks = (this.opts.promotionElections ?? 10) * this.core.cfg.electionTicks;
      this.control.addPromotion({ node, deadline: this.core.ticks + ticks, resolve, reject });
      this.checkPromotions();
    });
  }

  /** Adds a node as a learner, waits for it to catch up, then promotes it. */
  async addNode(node: NodeId, address?: string): Promise<Committed> {
    await this.changeConf({ type: 'addLearner', node, ...(address !== undefined ? { address } : {}) });
    return this.promote(node);
  }

  /** Takes a snapshot at the applied index and compacts the log (the scheduled snapshot);
   * resolves with its metadata, or undefined when nothing was applied since the last one. */
  requestSnapshot(): Promise<SnapshotMeta | undefined> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve(undefined);
      this.snapshotWaiters.push(resolve);
      this.kick();
    });
  }

  /** Transfers leadership to `to`; resolves once this node sees `to` as leader. */
  transferLeader(to: NodeId): Promise<void> {
    return this.request((resolve, reject) => {
      this.core.transferLeader(to);
      if (this.core.lead === to) return resolve();
      // Abandoned by the core after one election timeout; allow for the election itself.
      this.control.addTransfer({ to, deadline: this.core.ticks + 3 * this.core.cfg.electionTicks, resolve, reject });
    });
  }

  /** The core's status, with `applied` as the STATE MACHINE has it: during a snapshot install
   * the core counts the snapshot as applied before the state machine is restored. */
  status(): RaftStatus {
    const st = this.core.status();
    st.applied = Math.min(st.applied, this.opts.stateMachine.applied());
    return st;
  }

}
