// ReadIndex bookkeeping on the leader (etcd-io/raft read_only.go, with sequence-numbered rounds).
//
// Every heartbeat round carries a sequence number `seq`, increasing within a term. A read that
// arrives while `seq` = s is recorded with the commit index at that moment and waits for a
// quorum of voters to acknowledge a heartbeat round > s (sent after the read arrived). The same
// acknowledgements extend the lease: a lease starts when the confirming round was SENT.

import { committedIndex } from './quorum.ts';
import type { NodeId } from './types.ts';

export interface PendingRead {
  from: NodeId;
  context: string;
  index: number;
  /** The round that must be acknowledged by a quorum. */
  seq: number;
}

export class ReadOnly {
  /** Last round sent. */
  seq = 0;
  /** Highest round each voter acknowledged. */
  private acks = new Map<NodeId, number>();
  /** Round → tick count when it was sent (pruned below the confirmed round). */
  private sentAt = new Map<number, number>();
  /** Tick count at which the newest quorum-confirmed round was sent; -Infinity when none. */
  leaseStart = -Infinity;
  /** A TimeoutNow left in this term: no lease read until the next term (reset at becomeLeader). */
  timeoutNowSent = false;
  pending: PendingRead[] = [];
  /** Reads that arrived before the leader committed an entry of its term. */
  waiting: { from: NodeId; context: string }[] = [];

  reset(): void {
    this.seq = 0;
    this.acks.clear();
    this.sentAt.clear();
    this.leaseStart = -Infinity;
    this.timeoutNowSent = false;
    this.pending = [];
    this.waiting = [];
  }

  /** Starts a heartbeat round at tick `now`; returns its sequence number. */
  nextRound(now: number): number {
    this.seq++;
    this.sentAt.set(this.seq, now);
    return this.seq;
  }

  /** Records a voter's acknowledgement of round `seq`; returns the reads now confirmed. */
  ack(from: NodeId, seq: number, self: NodeId, voters: readonly NodeId[]): PendingRead[] {
    if (seq > (this.acks.get(from) ?? 0)) this.acks.set(from, seq);
    const confirmed = committedIndex(voters, (id) => (id === self ? this.seq : (this.acks.get(id) ?? 0)));
    if (confirmed === 0) return [];
    const sent = this.sentAt.get(confirmed);
    if (sent !== undefined && sent > this.leaseStart) this.leaseStart = sent;
    for (const k of this.sentAt.keys()) if (k < confirmed) this.sentAt.delete(k);
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.seq <= confirmed) n++;
    return n === 0 ? [] : this.pending.splice(0, n);
  }
}
