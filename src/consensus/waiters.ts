// Callers waiting on the driver: proposals and forwarded entries, matched to their outcome by
// (index, term) — never by index alone — and linearizable reads waiting for their read index
// and then for this node to apply it. Deadlines are in ticks.

import { ConsensusError } from './errors.ts';
import type { NodeId, ReadState } from './types.ts';

export interface Committed {
  index: number;
  term: number;
  /** The state machine's result for the entry. */
  result: unknown;
}

/** What a linearizable read is served at. */
export interface ReadPoint {
  /** The confirmed read index. */
  index: number;
  /** This node's applied index when the read is served (>= index): the state to read. */
  applied: number;
  /** Served from the leader's lease rather than a confirmed heartbeat round. */
  lease: boolean;
}

interface EntryWaiter {
  term: number;
  /** Tick count after which the caller gets TIMEOUT. */
  deadline: number;
  resolve: (c: Committed) => void;
  reject: (e: ConsensusError) => void;
}

interface ReadWaiter {
  deadline: number;
  /** Read index once the leader confirmed it. */
  index: number | undefined;
  lease: boolean;
  serve: (p: ReadPoint) => void;
  reject: (e: ConsensusError) => void;
}

/** Applied entries whose state-machine results are kept for late waitApplied() calls. */
export const RECENT_RESULTS = 4096;

export class Waiters {
  /** @param byIndexOnly the test-only mutation outcomeByIndexOnly: match outcomes by index alone. */
  constructor(private readonly byIndexOnly = false) {}

  /** Proposals made here, by index (at most one per index: this node appended it). */
  private proposals = new Map<number, EntryWaiter>();
  /** Entries forwarded to the leader, waited for here (index → waiters). */
  private forwarded = new Map<number, EntryWaiter[]>();
  /** Results of the last RECENT_RESULTS applied entries. */
  private recent = new Map<number, { term: number; result: unknown }>();
  private reads = new Map<string, ReadWaiter>();

  addProposal(index: number, w: EntryWaiter): void {
    this.proposals.set(index, w);
  }

  /** Waits for the entry (index, term) to be applied here. `appliedTerm` is this node's term at
   * `index` when it is already applied (undefined if compacted), else null. */
  addForwarded(index: number, w: EntryWaiter, appliedTerm: number | undefined | null): void {
    if (appliedTerm !== null) {
      const recent = this.recent.get(index);
      const t = recent?.term ?? appliedTerm;
      if (t === w.term) w.resolve({ index, term: w.term, result: recent?.result });
      else w.reject(new ConsensusError(t === undefined ? 'UNKNOWN' : 'SUPERSEDED', `entry ${index} of term ${w.term} is not in the applied log here (term ${t ?? 'compacted'})`));
      return;
    }
    const list = this.forwarded.get(index) ?? [];
    list.push(w);
    this.forwarded.set(index, list);
  }

  /** The entry at `index` of `term` was applied with `result`. */
  applied(index: number, term: number, result: unknown): void {
    this.recent.set(index, { term, result });
    if (this.recent.size > RECENT_RESULTS) this.recent.delete(this.recent.keys().next().value!);
    const settle = (w: EntryWaiter) => {
      if (w.term === term || this.byIndexOnly) w.resolve({ index, term, result });
      else w.reject(new ConsensusError('SUPERSEDED', `entry ${index} of term ${term} was applied instead of term ${w.term}`));
    };
    const ws = this.forwarded.get(index);
    if (ws) {
      this.forwarded.delete(index);
      ws.forEach(settle);
    }
    const p = this.proposals.get(index);
    if (p) {
      this.proposals.delete(index);
      settle(p);
    }
  }

  /** A snapshot replaced the state up to `index`: entries at or below it cannot be matched here. */
  coveredBySnapshot(index: number): void {
    const unknown = (i: number) => new ConsensusError('UNKNOWN', `entry ${i} was covered by a snapshot before it was applied here`);
    for (const [i, ws] of this.forwarded) {
      if (i > index) continue;
      this.forwarded.delete(i);
      for (const w of ws) w.reject(unknown(i));
    }
    for (const [i, p] of this.proposals) {
      if (i > index) continue;
      this.proposals.delete(i);
      p.reject(unknown(i));
    }
  }

  /** Leadership was lost: proposals appended but not known committed end UNKNOWN (they may still
   * commit under the next leader); those known committed will be applied and resolved. */
  lostLeadership(committed: number, leader: NodeId | null): void {
    for (const [i, p] of this.proposals) {
      if (i <= committed) continue;
      this.proposals.delete(i);
      p.reject(new ConsensusError('UNKNOWN', `leadership lost with entry ${i} appended but not known committed`, { leader }));
    }
  }

  addRead(context: string, deadline: number, serve: (p: ReadPoint) => void, reject: (e: ConsensusError) => void): void {
    this.reads.set(context, { deadline, index: undefined, lease: false, serve, reject });
  }

  /** The core answered a read: remember its index, or fail it. */
  readState(rs: ReadState, leader: NodeId | null): void {
    const r = this.reads.get(rs.context);
    if (!r) return;
    if (rs.error) {
      this.reads.delete(rs.context);
      r.reject(new ConsensusError(rs.error === 'NOT_LEADER' ? 'NOT_LEADER' : 'DROPPED', `read ${rs.error}`, { leader: rs.leader ?? leader }));
    } else {
      r.index = rs.index;
      r.lease = rs.lease === true;
    }
  }

  /** Serves every read whose index this node has applied. */
  serveReads(applied: number): void {
    for (const [ctx, r] of this.reads) {
      if (r.index !== undefined && applied >= r.index) {
        this.reads.delete(ctx);
        r.serve({ index: r.index, applied, lease: r.lease });
      }
    }
  }

  /** Ends with TIMEOUT everything whose deadline (ticks) has passed. */
  expire(now: number, leader: NodeId | null): void {
    for (const [i, p] of this.proposals) {
      if (now < p.deadline) continue;
      this.proposals.delete(i);
      p.reject(new ConsensusError('TIMEOUT', `no outcome for entry ${i} before the deadline`, { leader }));
    }
    for (const [i, ws] of this.forwarded) {
      const late = ws.filter((w) => now >= w.deadline);
      if (late.length === 0) continue;
      const rest = ws.filter((w) => now < w.deadline);
      if (rest.length > 0) this.forwarded.set(i, rest);
      else this.forwarded.delete(i);
      for (const w of late) w.reject(new ConsensusError('TIMEOUT', `entry ${i} not applied here before the deadline`, { leader }));
    }
    for (const [ctx, r] of this.reads) {
      if (now < r.deadline) continue;
      this.reads.delete(ctx);
      r.reject(new ConsensusError('TIMEOUT', 'read index not confirmed before the deadline', { leader }));
    }
  }

  /** Ends every read with `err` (a read changes nothing: failing it is always definite). */
  failReads(err: ConsensusError): void {
    for (const r of this.reads.values()) r.reject(err);
    this.reads.clear();
  }

  /**
   * The node stops (or failed) with entries still awaited: each was appended (here, or at the
   * leader it was forwarded to) and may commit — or is known committed (index <= committed) and
   * was not applied here. Either way the outcome is UNKNOWN, never a definite failure.
   */
  entriesUncertain(committed: number, why: string): void {
    for (const [i, p] of this.proposals) {
      const what = i <= committed ? 'committed but not applied here' : 'appended but not known committed';
      p.reject(new ConsensusError('UNKNOWN', `${why} with entry ${i} ${what}`));
    }
    this.proposals.clear();
    for (const [i, ws] of this.forwarded) {
      for (const w of ws) w.reject(new ConsensusError('UNKNOWN', `${why} before entry ${i} was applied here`));
    }
    this.forwarded.clear();
  }
}
