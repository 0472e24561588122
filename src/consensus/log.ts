// The core's view of the log: the durable log (LogReader) plus the unstable tail that was appended
// since the last Ready and not yet handed out for persistence.
//
// Invariants: applied <= committed <= lastIndex(); unstable[k].index === unstableOffset + k;
// entries below unstableOffset come from storage (or from a snapshot being installed).

import type { LogReader } from './storage.ts';
import type { Entry, SnapshotMeta } from './types.ts';

export function entryBytes(e: Entry): number {
  return 24 + (e.data?.length ?? 0) + (e.change ? 64 : 0);
}

export class RaftLog {
  /** Highest index known committed. */
  committed: number;
  /** Highest index handed to the application for applying (it is applied once advance() runs). */
  applied: number;
  private unstable: Entry[] = [];
  private unstableOffset: number;
  /** A snapshot accepted by the core and not yet persisted. */
  private pendingSnap: SnapshotMeta | undefined;

  constructor(readonly storage: LogReader, committed: number, applied: number) {
    this.unstableOffset = storage.lastIndex() + 1;
    this.committed = Math.max(committed, applied);
    this.applied = applied;
  }

  firstIndex(): number {
    if (this.pendingSnap) return this.pendingSnap.index + 1;
    return this.storage.firstIndex();
  }

  lastIndex(): number {
    if (this.unstable.length > 0) return this.unstableOffset + this.unstable.length - 1;
    if (this.pendingSnap) return this.pendingSnap.index;
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
      if (index === this.pendingSnap.index) return this.pendingSnap.term;
      return undefined;
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
  }

  /** Appends what is new in `entries` and truncates the log at the first conflicting entry.
   * Returns the index the log was truncated from (0 if nothing was replaced). Throws if that
   * would truncate a committed index (a protocol bug, never an input error). */
  maybeAppend(entries: readonly Entry[]): number {
    let i = 0;
    for (; i < entries.length; i++) {
      const e = entries[i]!;
      const t = this.term(e.index);
      if (t !== e.term) break;
    }
    if (i === entries.length) return 0;
    const conflict = entries[i]!.index;
    if (conflict <= this.committed) throw new Error(`conflict at committed index ${conflict} (committed ${this.committed})`);
    const truncates = conflict <= this.lastIndex();
    this.append(entries.slice(i));
    return truncates ? conflict : 0;
  }

  commitTo(index: number): boolean {
    if (index > this.committed) {
      this.committed = index;
      return true;
    }
    return false;
  }

  /** Unstable entries to persist now; all of them (nothing is stepped between ready and advance). */
  unstableEntries(): Entry[] {
    return this.unstable.slice();
  }

  /** Highest index known durable: the log below the unstable tail. */
  persistedIndex(): number {
    return Math.min(this.unstableOffset - 1, this.lastIndex());
  }

  hasUnstable(): boolean {
    return this.unstable.length > 0 || this.pendingSnap !== undefined;
  }

  /** Committed entries not yet handed out for applying, bounded by maxBytes. */
  nextCommitted(maxBytes: number): Entry[] {
    const lo = Math.max(this.applied + 1, this.firstIndex());
    if (lo > this.committed) return [];
    return this.slice(lo, this.committed + 1, Number.MAX_SAFE_INTEGER, maxBytes) ?? [];
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applied && this.applied + 1 >= this.firstIndex();
  }

  /** Called by advance(): the unstable entries up to `index` (of `term`) are now durable. */
  stableTo(index: number, term: number): void {
    if (this.term(index) !== term) return;
    if (index < this.unstableOffset) return;
    const n = index - this.unstableOffset + 1;
    this.unstable = this.unstable.slice(n);
    this.unstableOffset = index + 1;
  }

  appliedTo(index: number): void {
    if (index > this.committed) throw new Error(`applied ${index} > committed ${this.committed}`);
    if (index > this.applied) this.applied = index;
  }

  /**
   * Accepts a snapshot to install: the log keeps its entries after meta.index only if it holds
   * (meta.index, meta.term). Afterwards committed >= meta.index and applied = meta.index.
   */
  restore(meta: SnapshotMeta): void {
    const keepSuffix = this.term(meta.index) === meta.term;
    const suffix: Entry[] = [];
    if (keepSuffix) {
      for (let i = meta.index + 1; i <= this.lastIndex(); i++) {
        if (i >= this.unstableOffset) suffix.push(this.unstable[i - this.unstableOffset]!);
      }
      // Durable entries after meta.index stay in storage; the unstable part stays unstable.
      this.unstableOffset = Math.max(this.unstableOffset, meta.index + 1);
      this.unstable = suffix;
    } else {
      this.unstable = [];
      this.unstableOffset = meta.index + 1;
    }
    this.pendingSnap = keepSuffix ? undefined : meta;
    this.committed = Math.max(this.committed, meta.index);
    this.applied = meta.index;
  }
  /** Called by advance() after an install persisted. */
  snapshotPersisted(): void {
    this.pendingSnap = undefined;
  }
}
