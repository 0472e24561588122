// Which write a Ready needs (etcd's MustSync, DESIGN §4): one with new entries, snapshot
// operations, or a new term or vote; none when only the commit index changed. Persisted messages
// alone need no write of their own: what they acknowledge was written by their Ready or an
// earlier one, and they leave only after every earlier write is durable (write-pipeline.ts).
// The commit index is not needed for safety: the newest unwritten hard state rides on the next
// write, and stop() writes what is left (a restart takes max(persisted commit, applied) and
// learns the rest from the leader).

import type { PersistWrite } from './storage.ts';
import type { HardState, NodeId, Ready } from './types.ts';

export class MustSync {
  /** Term and vote of the last write started (writes are durable in order). */
  private synced: { term: number; vote: NodeId | null };
  /** The newest hard state not written yet. */
  private unwritten: HardState | undefined;

  constructor(durable: HardState) {
    this.synced = { term: durable.term, vote: durable.vote };
  }

  /** The write `rd` needs, or undefined when it needs none. */
  writeFor(rd: Ready): PersistWrite | undefined {
    const hs = rd.hardState;
    const needed = rd.entries.length > 0 || rd.snapshotOps.length > 0 || (hs !== undefined && (hs.term !== this.synced.term || hs.vote !== this.synced.vote));
    if (!needed) {
      if (hs) this.unwritten = hs;
      return undefined;
    }
    const hardState = hs ?? this.unwritten;
    this.unwritten = undefined;
    if (hardState) this.synced = { term: hardState.term, vote: hardState.vote };
    return { hardState, entries: rd.entries, snapshotOps: rd.snapshotOps };
  }

  /** What is left unwritten (at stop); taking it clears it. */
  takeUnwritten(): PersistWrite | undefined {
    const hs = this.unwritten;
    this.unwritten = undefined;
    return hs ? { hardState: hs, entries: [], snapshotOps: [] } : undefined;
  }
}
