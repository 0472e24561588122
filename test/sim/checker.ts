// Invariants of DESIGN.md §3, checked over the whole history of a simulation run (not just the
// current roles). Each violation is a sentence naming the invariant.

import type { Entry, Message, NodeId, SnapshotMeta } from '../../src/consensus/types.ts';
import { EntryType, MessageType, Role } from '../../src/consensus/types.ts';
import type { MemRaftState } from '../../src/consensus/memory-storage.ts';
import { termAt } from '../../src/consensus/memory-storage.ts';
import type { PersistWrite } from '../../src/consensus/storage.ts';
import type { RaftCore } from '../../src/consensus/raft.ts';
import { lastInstall } from '../../src/consensus/ready.ts';
import { chain, decodeCommand, entryDigest, type KvState } from '../support/kv-state-machine.ts';

interface AppliedEntry {
  term: number;
  digest: number;
  id: string | undefined;
}

export interface ReadRecord {
  node: NodeId;
  /** Highest index of a write acknowledged before the read began. */
  ackedBefore: number;
  /** Highest applied index served by a read completed before this read began. */
  readBefore: number;
}

export class Checker {
  violations: string[] = [];
  private leaders = new Map<number, NodeId>();
  private granted = new Map<string, NodeId>();
  /** committedTerm[i]: the term of the entry known committed at index i. */
  private committedTerm: number[] = [0];
  knownCommit = 0;
  private applied: AppliedEntry[] = [{ term: 0, digest: 0, id: undefined }];
  private refHash: number[] = [0];
  appliedIds = new Map<string, number>();
  private lastCommit = new Map<NodeId, number>();
  private lastApplied = new Map<NodeId, number>();
  private durableCommit = new Map<NodeId, number>();
  private durableApplied = new Map<NodeId, number>();
  /** Completed reads: the highest applied index served. */
  maxReadServed = 0;
  /** Only the consequences: skip the direct rule checks (commit of a previous-term entry,
   * configuration change before a current-term commit), to measure whether a broken rule also
   * shows as a lost commit. */
  consequencesOnly = false;
  /** Log matching: entry (index/term) → the term of the entry before it, as first written. */
  private prevTermOf = new Map<string, number>();
  /** Match never decreases within a term: "leader:term:follower" → match. */
  private matchSeen = new Map<string, number>();
  /** The term of the entry at `index` in the log of the leader of `term`, while it still leads
   * that term (undefined when unknown). Set by the cluster. */
  leaderLogTerm: (term: number, index: number) => number | undefined = () => undefined;

  fail(msg: string): void {
    if (this.violations.length < 20) this.violations.push(msg);
  }

  // ---- durability: nothing leaves before the write it depends on is durable -----------------

  onSend(m: Message, durable: MemRaftState): void {
    const hs = durable.hs;
    switch (m.type) {
      case MessageType.Vote:
        if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.from)) {
          this.fail(`durability: ${m.from} asked for votes in term ${m.term} before its own vote was durable`);
        }
        break;
      case MessageType.VoteResp:
        if (!m.reject) {
          if (hs.term < m.term || (hs.term === m.term && hs.vote !== m.to)) {
            this.fail(`durability: ${m.from} granted its term-${m.term} vote to ${m.to} before the vote was durable`);
          }
          const k = `${m.from}:${m.term}`;
          const prev = this.granted.get(k);
          if (prev !== undefined && prev !== m.to) this.fail(`double vote: ${m.from} granted term ${m.term} to ${prev} and ${m.to}`);
          this.granted.set(k, m.to);
        }
        break;
      case MessageType.AppResp:
        if (!m.reject && (m.index ?? 0) > durable.prevIndex) {
          const i = m.index!;
          if (i > durable.prevIndex + durable.entries.length) {
            this.fail(`durability: ${m.from} acknowledged entry ${i} before it was durable`);
          } else {
            // The acknowledgement claims the leader's entry at i, not just a log that long.
            const want = this.leaderLogTerm(m.term, i);
            const have = termAt(durable, i);
            if (want !== undefined && have !== want) this.fail(`durability: ${m.from} acknowledged entry ${i} of term ${want} to the term-${m.term} leader but durably holds ${i}/${have}`);
          }
        }
        break;
      case MessageType.SnapResp:
        if (!m.reject && !m.done && (m.offset ?? 0) > 0) {
          const st = durable.staged;
          const installed = durable.snap?.id === m.snapId;
          if (!installed && (!st || st.meta.id !== m.snapId || st.offset < m.offset!)) {
            this.fail(`durability: ${m.from} acknowledged offset ${m.offset} of ${m.snapId} before the chunk was durable`);
          }
        }
        // A finished transfer is answered with the index the follower now holds (meta.index after
        // an install; its commit when it had nothing to install): the durable log (or snapshot)
        // must reach it when the answer leaves.
        const at = m.index ?? 0;
        const want = m.done && at > durable.prevIndex ? this.leaderLogTerm(m.term, at) : undefined;
        if (m.done && durable.snap?.id !== m.snapId && (durable.prevIndex + durable.entries.length < at || (want !== undefined && termAt(durable, at) !== want))) {
          this.fail(`durability: ${m.from} answered the last chunk of ${m.snapId} before the install was durable`);
        }
        break;
    }
  }

  // ---- logs ---------------------------------------------------------------------------------

  /** Before a persist: no committed entry is overwritten with another or truncated away; every
   * entry written follows the same entry as wherever else it was written (log matching). */
  onPersist(node: NodeId, w: PersistWrite, before: MemRaftState, core: RaftCore): { truncated: boolean } {
    let truncated = false;
    const install = lastInstall(w.snapshotOps);
    const termBefore = (i: number): number | undefined => {
      if (install) {
        if (i === install.meta.index) return install.meta.term;
        if (i < install.meta.index || i > install.keepTo) return undefined;
      }
      return termAt(before, i);
    };
    w.entries.forEach((e, k) => {
      const prev = k > 0 ? w.entries[k - 1]!.term : termBefore(e.index - 1);
      if (prev === undefined || e.index === 1) return;
      const key = `${e.index}/${e.term}`;
      const first = this.prevTermOf.get(key);
      if (first === undefined) this.prevTermOf.set(key, prev);
      else if (first !== prev) this.fail(`log matching: ${node} writes ${key} after an entry of term ${prev}; elsewhere ${key} follows term ${first}`);
    });
    if (w.entries.length > 0) {
      const first = w.entries[0]!.index;
      const oldLast = before.prevIndex + before.entries.length;
      if (first <= oldLast) {
        for (const e of w.entries) {
          const old = termAt(before, e.index);
          if (old !== undefined && old !== e.term) truncated = true;
          if (e.index <= this.knownCommit && this.committedTerm[e.index] !== undefined && this.committedTerm[e.index] !== e.term) {
            this.fail(`committed entry overwritten: ${node} writes ${e.index}/${e.term} over committed term ${this.committedTerm[e.index]}`);
          }
        }
        const newLast = w.entries[w.entries.length - 1]!.index;
        if (newLast < oldLast) {
          truncated = true;
          // Dropping a stale entry at a committed index is repair; dropping the committed entry
          // itself is the violation.
          for (let i = newLast + 1; i <= Math.min(oldLast, this.knownCommit); i++) {
            if (termAt(before, i) === this.committedTerm[i]) {
              this.fail(`committed entry truncated: ${node} drops ${i}/${this.committedTerm[i]} (commit known ${this.knownCommit})`);
              break;
            }
          }
        }
      }
      // Configuration changes: only after the leader committed an entry of its term.
      if (core.role === Role.Leader) {
        for (const e of w.entries) {
          if (!this.consequencesOnly && e.type === EntryType.Conf && e.term === core.term && e.change?.type !== 'bootstrap' && !core.committedInTerm()) {
            this.fail(`config change before term commit: leader ${node} appended ${e.change?.type} at ${e.index} in term ${e.term} before committing an entry of its term`);
          }
        }
      }
    }
    return { truncated };
  }

  // ---- observations after every event -------------------------------------------------------

  observe(node: NodeId, core: RaftCore, durable: MemRaftState, durableApplied: number): void {
    const lc = core.log;
    if (core.role === Role.Leader) {
      const prev = this.leaders.get(core.term);
      if (prev === undefined) {
        this.leaders.set(core.term, node);
        // Leader completeness: every entry known committed is in the new leader's log.
        for (let i = Math.max(1, lc.firstIndex()); i <= this.knownCommit; i++) {
          const t = lc.term(i);
          if (t !== this.committedTerm[i]) {
            this.fail(`leader completeness: ${node} leads term ${core.term} without committed entry ${i}/${this.committedTerm[i]} (has ${t})`);
            break;
          }
        }
      } else if (prev !== node) {
        this.fail(`two leaders in term ${core.term}: ${prev} and ${node}`);
      }
      // At most one unapplied configuration entry in a leader's log.
      let confs = 0;
      const ents = lc.slice(lc.applied + 1, lc.lastIndex() + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) ?? [];
      for (const e of ents) if (e.type === EntryType.Conf) confs++;
      if (confs > 1) this.fail(`leader ${node} has ${confs} unapplied configuration entries`);
    }
    // Commit: record the entries newly known committed and check they agree.
    const seen = this.lastCommit.get(node) ?? 0;
    if (!this.consequencesOnly && core.role === Role.Leader && lc.committed > seen && this.lastCommit.has(node) && lc.term(lc.committed) !== core.term) {
      // A leader advances its commit index only to an entry of its own term (Raft §5.4.2).
      this.fail(`commit rule: leader ${node} of term ${core.term} advanced commit to ${lc.committed}, an entry of term ${lc.term(lc.committed)}`);
    }
    if (lc.committed < seen) this.fail(`commit decreased on ${node}: ${seen} -> ${lc.committed}`);
    for (let i = Math.max(seen + 1, lc.firstIndex()); i <= lc.committed; i++) {
      const t = lc.term(i);
      if (t === undefined) continue;
      const known = this.committedTerm[i];
      if (known === undefined) this.committedTerm[i] = t;
      else if (known !== t) this.fail(`commit safety: ${node} committed ${i}/${t}, another node committed ${i}/${known}`);
    }
    this.lastCommit.set(node, Math.max(seen, lc.committed));
    if (lc.committed > this.knownCommit) this.knownCommit = lc.committed;
    const la = this.lastApplied.get(node) ?? 0;
    if (lc.applied < la) this.fail(`applied decreased on ${node}: ${la} -> ${lc.applied}`);
    this.lastApplied.set(node, lc.applied);
    if (lc.applied > lc.committed) this.fail(`applied > committed on ${node}: ${lc.applied} > ${lc.committed}`);
    const dc = this.durableCommit.get(node) ?? 0;
    if (durable.hs.commit < dc) this.fail(`durable commit decreased on ${node}: ${dc} -> ${durable.hs.commit}`);
    this.durableCommit.set(node, durable.hs.commit);
    const da = this.durableApplied.get(node) ?? 0;
    if (durableApplied < da) this.fail(`durable applied decreased on ${node}: ${da} -> ${durableApplied}`);
    this.durableApplied.set(node, durableApplied);
  }

  /**
   * A leader's commit index is held durably by a quorum of its voters (what "committed" means);
   * `durableOf` gives a node's durable Raft state. Checked when the leader's commit advances.
   */
  checkCommitQuorum(node: NodeId, core: RaftCore, durableOf: (id: NodeId) => MemRaftState | undefined): void {
    const c = core.log.committed;
    const t = core.log.term(c);
    if (t === undefined) return;
    // The voters the commit was decided under (with pipelined Readies, a configuration change
    // may be applied between the decision and the Ready that carries the new commit index).
    const voters = core.commitVoters;
    const held: NodeId[] = [];
    for (const v of voters) {
      const d = durableOf(v);
      if (!d) continue;
      if (c <= d.prevIndex ? d.snap !== undefined && d.snap.index >= c : termAt(d, c) === t) held.push(v);
    }
    if (held.length < Math.floor(voters.length / 2) + 1) {
      this.fail(`commit quorum: leader ${node} of term ${core.term} committed ${c}/${t}, held durably by ${held.length} of the ${voters.length} voters it was decided by (${voters.join(',')}: ${held.join(',') || 'none'})`);
    }
  }

  /**
   * A follower's commit after an append reaches at most the last entry that append matched
   * (prev + its entries): beyond it the follower's log may still hold another history's tail.
   * Checked per step (the cluster wraps each core's step). With correct leaders the consequence
   * — a stale tail committed — cannot arise: back-tracking always resumes right after the last
   * matching entry, so the first entries sent conflict with any stale tail and truncate it
   * (README, "Mutations"); the rule itself is what this checks.
   */
  checkFollowerCommit(node: NodeId, m: Message, before: number, after: number): void {
    if (this.consequencesOnly || m.type !== MessageType.App || after <= before) return;
    const lastNew = (m.index ?? 0) + (m.entries?.length ?? 0);
    if (after > lastNew) this.fail(`follower commit rule: ${node} committed ${after} after an append from ${m.from} (term ${m.term}) that matched only up to ${lastNew}`);
  }

  /** Progress: a leader's match for a follower never decreases within its term. */
  checkMatch(node: NodeId, core: RaftCore): void {
    for (const [id, pr] of core.prs) {
      const k = `${node}:${core.term}:${id}`;
      const prev = this.matchSeen.get(k) ?? 0;
      if (pr.match < prev) this.fail(`match decreased: leader ${node} of term ${core.term} lowered ${id}'s match ${prev} -> ${pr.match}`);
      this.matchSeen.set(k, pr.match);
    }
  }

  /** A restarted node starts a new volatile life: only durable state must be monotonic. */
  restarted(node: NodeId): void {
    this.lastCommit.delete(node);
    this.lastApplied.delete(node);
  }

  // ---- state machine --------------------------------------------------------------------------

  onApply(node: NodeId, entries: readonly Entry[], hashes: readonly number[]): void {
    entries.forEach((e, k) => {
      const digest = entryDigest(e);
      const have = this.applied[e.index];
      if (have === undefined) {
        if (e.index !== this.applied.length) {
          this.fail(`apply gap: ${node} applied ${e.index} while the history holds ${this.applied.length - 1}`);
          return;
        }
        const id = e.data ? decodeCommand(e.data).id : undefined;
        this.applied.push({ term: e.term, digest, id });
        this.refHash.push(chain(this.refHash[e.index - 1]!, e.index, e.term, digest));
        if (id !== undefined && !this.appliedIds.has(id)) this.appliedIds.set(id, e.index);
      } else if (have.term !== e.term || have.digest !== digest) {
        this.fail(`state machine safety: ${node} applied ${e.index}/${e.term}, another node applied ${e.index}/${have.term}`);
        return;
      }
      const ct = this.committedTerm[e.index];
      if (ct !== undefined && ct !== e.term) this.fail(`${node} applied ${e.index}/${e.term} but ${e.index}/${ct} is committed`);
      if (hashes[k] !== this.refHash[e.index]) this.fail(`state on ${node} at ${e.index} differs from the fold of the committed prefix`);
    });
  }

  onRestore(node: NodeId, meta: SnapshotMeta, state: KvState): void {
    const ref = this.refHash[meta.index];
    if (ref === undefined) this.fail(`${node} installed a snapshot at ${meta.index} beyond any applied history`);
    else if (state.hash !== ref) this.fail(`snapshot ${meta.id} installed on ${node} differs from the fold of the committed prefix`);
  }

  /** The hash of the state after applying the committed prefix up to `index`. */
  refHashAt(index: number): number | undefined {
    return this.refHash[index];
  }

  checkRead(r: ReadRecord, readIndex: number, applied: number, hash: number): void {
    if (readIndex < r.ackedBefore) this.fail(`stale read on ${r.node}: read index ${readIndex} below acknowledged write ${r.ackedBefore}`);
    if (readIndex < r.readBefore) this.fail(`stale read on ${r.node}: read index ${readIndex} below a completed read at ${r.readBefore}`);
    const ref = this.refHash[applied];
    if (ref !== hash) this.fail(`read on ${r.node} at ${applied} returned a state that is not the committed state at ${applied}`);
    if (applied > this.maxReadServed) this.maxReadServed = applied;
  }

  /** Proposal outcomes against the committed history. */
  checkOutcome(id: string, outcome: string, index: number | undefined, term: number | undefined): void {
    if (outcome === 'committed') {
      const at = this.applied[index!];
      if (!at || at.id !== id || at.term !== term) this.fail(`proposal ${id} reported committed at ${index}/${term}, but that index holds ${at?.id}/${at?.term}`);
    } else if (outcome !== 'pending' && outcome !== 'UNKNOWN' && outcome !== 'TIMEOUT') {
      // Every other outcome (NOT_LEADER, DROPPED, SUPERSEDED, SHUTTING_DOWN, INVALID, ...) is a
      // definite failure: the write must never commit.
      const at = this.appliedIds.get(id);
      if (at !== undefined) this.fail(`proposal ${id} reported ${outcome} but committed at ${at}`);
    }
  }

  appliedLength(): number {
    return this.applied.length - 1;
  }
}
