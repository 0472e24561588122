// The leader's view of one follower (etcd-io/raft tracker/progress.go).
// Invariant: match < next. Within a term, match never decreases.

import type { NodeId, SnapshotMeta } from './types.ts';

export const ProgressState = { Probe: 'probe', Replicate: 'replicate', Snapshot: 'snapshot' } as const;
export type ProgressState = (typeof ProgressState)[keyof typeof ProgressState];

/** A chunked snapshot transfer in progress to one follower. Offsets are bytes. */
export interface SnapshotTransfer {
  meta: SnapshotMeta;
  /** Bytes the follower acknowledged as durable: the leader resumes from here. */
  acked: number;
  /** Tick count when the last chunk was sent (to resend after a lost chunk). */
  sentAt: number;
  /** Tick count when the transfer started or the follower last acknowledged new bytes: a
   * transfer without progress for SNAPSHOT_STALL_ELECTIONS election timeouts is abandoned, which
   * unpins its image (the pin's bounded life). */
  progressAt: number;
}

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = ProgressState.Probe;
  /** Probe: an append is outstanding; no more until a response or heartbeat response. */
  probeSent = false;
  /** Replicate: last indexes of appends in flight, oldest first (the in-flight window). */
  inflights: number[] = [];
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  snapshot: SnapshotTransfer | undefined;

  constructor(readonly id: NodeId, next: number, readonly maxInflight: number) {
    this.next = next;
  }

  becomeProbe(): void {
    if (this.state === ProgressState.Snapshot && this.snapshot) {
      this.next = Math.max(this.match + 1, this.snapshot.meta.index + 1);
    } else {
      this.next = this.match + 1;
    }
    this.reset(ProgressState.Probe);
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.reset(ProgressState.Replicate);
  }

  /** Abandons a stalled snapshot transfer: probe again from match (a newer image follows). */
  abandonSnapshot(): void {
    this.next = this.match + 1;
    this.reset(ProgressState.Probe);
  }

  becomeSnapshot(t: SnapshotTransfer): void {
    this.reset(ProgressState.Snapshot);
    this.snapshot = t;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.inflights = [];
    this.snapshot = undefined;
  }

  /** Records an acknowledged index; returns true when match advanced. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (index > this.match) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Entries up to `last` were sent (optimistically, in replicate state). */
  sentEntries(last: number): void {
    if (this.state === ProgressState.Replicate) {
      this.next = last + 1;
      this.inflights.push(last);
    } else if (this.state === ProgressState.Probe) {
      this.probeSent = true;
    }
  }

  /** Frees the in-flight slots of appends up to and including `index`. */
  freeInflightsTo(index: number): void {
    let k = 0;
    while (k < this.inflights.length && this.inflights[k]! <= index) k++;
    if (k > 0) this.inflights = this.inflights.slice(k);
  }

  /**
   * A rejection of the append that followed `rejected`: lowers next to at most `probe` (the
   * leader's estimate from the follower's hint). Returns false for a stale rejection.
   */
  maybeDecrTo(rejected: number, probe: number): boolean {
    if (this.state === ProgressState.Replicate) {
      if (rejected <= this.match) return false; // stale
      this.next = Math.max(this.match + 1, Math.min(rejected, probe + 1));
      return true;
    }
    if (this.next - 1 !== rejected) return false; // not the probe in flight
    this.next = Math.max(Math.min(rejected, probe + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case ProgressState.Probe:
        return this.probeSent;
      case ProgressState.Replicate:
        return this.inflights.length >= this.maxInflight;
      case ProgressState.Snapshot:
        return true;
    }
  }
}
