// The core's view of the log: the durable log (LogReader) plus the unstable tail: entries not yet
// known durable. Part of that tail may already be handed out for persistence (in a Ready whose
// write is in flight: the driver pipelines writes, DESIGN §4); the rest goes out in the next Ready.
//
// Invariants: applied <= applying <= committed <= lastIndex(); unstable[k].index ===
// unstableOffset + k; entries below unstableOffset come from storage (or from a snapshot being
// installed); unstableOffset - 1 <= handedOut <= lastIndex().

import type { LogReader } from './storage.ts';
import type { Entry, SnapshotMeta } from './types.ts';

export function entryBytes(e: Entry): number {
  return 24 + (e.data?.length ?? 0) + (e.change ? 64 : 0);
}

export class RaftLog {
  /** Highest index known committed. */
  committed: number;
  /** Highest index applied (advance() of the Ready that carried it ran). */
  applied: number;
  /** Highest index handed out for applying in a Ready (applied once that Ready's advance runs). */
  applying: number;
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** Highest index handed out for persistence in a Ready (durable once that Ready's write is). */
  private handedOut: number;
  /** A snapshot accepted by the core and not yet persisted, and the last durable entry that
   * survives its install (see SnapshotOp 'install'). While set, the log is: the snapshot point,
   * storage entries (meta.index, keepTo], then the unstable tail from keepTo + 1. */
  private pendingSnap: { meta: SnapshotMeta; keepTo: number } | undefined;

  constructor(readonly storage: LogReader, committed: number, applied: number) {
    this.unstableOffset = storage.lastIndex() + 1;
    this.handedOut = storage.lastIndex();
    this.committed = Math.max(committed, applied);
    this.applied = applied;
    this.applying = applied;
  }

  firstIndex(): number {
    if (this.pendingSnap) return this.pendingSnap.meta.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.pendingSnap) return this.pendingSnap.keepTo;
    return this.storage.lastIndex();
  }

  /** Term at index, or undefined when compacted or beyond the last index. */
  term(index: number): number | undefined {
    if (index === 0) return 0;
    if (index >= this.unstableOffset) {
      const e = this.unstable[index - this.unstableOffset];
      return e?.term;
    }
    if (this.pendingSnap) {
      const { meta, keepTo } = this.pendingSnap;
      if (index === meta.index) return meta.term;
      if (index < meta.index || index > keepTo) return undefined;
    }
    return this.storage.term(index);
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Candidate's log (lastIndex, lastTerm) is at least as up to date as ours. */
  isUpToDate(index: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && index >= this.lastIndex());
  }

  /** Entries in [lo, hi) bounded by maxCount and maxBytes (at least one if any); undefined if lo
   * is compacted. */
  slice(lo: number, hi: number, maxCount: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.firstIndex()) return undefined;
    hi = Math.min(hi, this.lastIndex() + 1, lo + maxCount);
    if (lo >= hi) return [];
    const out: Entry[] = [];
    let bytes = 0;
    if (lo < this.unstableOffset) {
      const fromStorage = this.storage.entries(lo, Math.min(hi, this.unstableOffset), maxBytes);
      for (const e of fromStorage) {
        bytes += entryBytes(e);
        out.push(e);
      }
      if (out.length < Math.min(hi, this.unstableOffset) - lo || bytes >= maxBytes) return out;
    }
    for (let i = Math.max(lo, this.unstableOffset); i < hi; i++) {
      const e = this.unstable[i - this.unstableOffset]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  /** Appends entries (possibly overwriting a conflicting suffix from entries[0].index on). */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first < this.unstableOffset) {
      // The new entries replace part of the persisted log: everything from `first` on becomes
      // unstable, and the persist of the next Ready truncates the stale durable tail.
      this.unstable = [];
      this.unstableOffset = first;
    } else if (first > this.unstableOffset + this.unstable.length) {
      throw new Error(`log gap: appending ${first} after ${this.lastIndex()}`);
    } else {
      this.unstable.length = first - this.unstableOffset;
    }
    for (const e of entries) this.unstable.push(e);
    // Entries from `first` on go out (again) in the next Ready; a write in flight that held other
    // entries there is overwritten by it (writes are durable in order).
    this.handedOut = Math.min(this.handedOut, first - 1);
  }

  /** Appends what is new in `entries` and truncates the log at the first conflicting entry.
   * Returns the index the log was truncated from (0 if nothing was replaced). Throws if that
   * would truncate a committed index (a protocol bug, never an input error). */
  maybeAppend(entries: readonly Entry[]): number {
    const conflict = this.findConflict(entries);
    if (conflict === 0) return 0;
    const i = conflict - entries[0]!.index;
    if (conflict <= this.committed) throw new Error(`conflict at committed index ${conflict} (committed ${this.committed})`);
    const truncates = conflict <= this.lastIndex();
    this.append(entries.slice(i));
    return truncates ? conflict : 0;
  }

  /** Index of the first entry of `entries` (contiguous) that this log does not hold, or 0. */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) if (this.term(e.index) !== e.term) return e.index;
    return 0;
  }

  commitTo(index: number): boolean {
    if (index > this.committed) {
      this.committed = index;
      return true;
    }
    return false;
  }

  /** Unstable entries not yet handed out for persistence; they are handed out now. */
  unstableEntries(): Entry[] {
    const from = Math.max(this.handedOut + 1, this.unstableOffset);
    const out = this.unstable.slice(from - this.unstableOffset);
    this.handedOut = this.lastIndex();
    return out;
  }

  /** Highest index known durable: the log below the unstable tail. */
  persistedIndex(): number {
    return Math.min(this.unstableOffset - 1, this.lastIndex());
  }

  /** Unstable entries not yet handed out for persistence. */
  hasUnstable(): boolean {
    return this.lastIndex() > this.handedOut;
  }

  /** Committed entries not yet handed out for applying, bounded by maxBytes; they are handed out now. */
  nextCommitted(maxBytes: number): Entry[] {
    const lo = Math.max(this.applying + 1, this.firstIndex());
    if (lo > this.committed) return [];
    const out = this.slice(lo, this.committed + 1, Number.MAX_SAFE_INTEGER, maxBytes) ?? [];
    if (out.length > 0) this.applying = out[out.length - 1]!.index;
    return out;
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applying && this.applying + 1 >= this.firstIndex();
  }

  /** Called by advance(): the unstable entries up to `index` (of `term`) are now durable. A write
   * whose entries were replaced meanwhile (the term differs) proves nothing and is ignored. */
  stableTo(index: number, term: number): void {
    if (this.term(index) !== term) return;
    if (index < this.unstableOffset || index > this.handedOut) return;
    const n = index - this.unstableOffset + 1;
    this.unstable = this.unstable.slice(n);
    this.unstableOffset = index + 1;
  }

  appliedTo(index: number): void {
    if (index > this.committed) throw new Error(`applied ${index} > committed ${this.committed}`);
    if (index > this.applied) this.applied = index;
  }

  /**
   * Accepts a snapshot to install and makes the one decision about the log suffix: entries after
   * meta.index survive only if the log — durable entries AND the unstable tail of this Ready —
   * holds (meta.index, meta.term). Returns keepTo, carried in the install operation: the storage
   * keeps exactly its durable entries (meta.index, keepTo] and the unstable entries above keepTo
   * are written after the install, in the same persist. Afterwards committed >= meta.index and
   * applied = meta.index.
   *
   * `durableOnly` is the test-only mutation keepSuffixByDurableOnly (decide by the durable log).
   */
  restore(meta: SnapshotMeta, durableOnly = false): number {
    const t = durableOnly ? this.storage.term(meta.index) : this.term(meta.index);
    const keepSuffix = t === meta.term;
    if (keepSuffix) {
      // The unstable entries above meta.index stay unstable; durable ones below the unstable
      // tail stay in storage.
      this.unstable = this.unstable.filter((e) => e.index > meta.index);
      this.unstableOffset = Math.max(this.unstableOffset, meta.index + 1);
    } else {
      this.unstable = [];
      this.unstableOffset = meta.index + 1;
    }
    // Invariant: every durable entry the core still counts lies below unstableOffset, and the
    // storage holds them (unstableOffset - 1 never exceeds its durable last index).
    const keepTo = this.unstableOffset - 1;
    this.pendingSnap = { meta, keepTo };
    // Every unstable entry is written after the install, in the same persist (the install deletes
    // the durable entries above keepTo). The driver steps a snapshot only with no write in flight.
    this.handedOut = keepTo;
    this.committed = Math.max(this.committed, meta.index);
    this.applied = meta.index;
    this.applying = meta.index;
    return keepTo;
  }
  /** Called by advance() after an install persisted. */
  snapshotPersisted(): void {
    this.pendingSnap = undefined;
  }
}
