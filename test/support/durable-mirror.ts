// The durability wrapper: wraps any Storage and mirrors, as a MemRaftState, what its writes made
// DURABLE — the mirror changes only when a write's promise resolves. A checker compares every
// outgoing message with the sender's mirror (Checker.onSend).

import { applyWrite, emptyNodeDisk, type MemRaftState } from '../../src/consensus/memory-storage.ts';
import type { PersistWrite, Storage } from '../../src/consensus/storage.ts';
import type { Entry, HardState, SnapshotMeta, StagedSnapshot } from '../../src/consensus/types.ts';

export class DurableMirror implements Storage {
  readonly mirror: MemRaftState = emptyNodeDisk().raft;

  constructor(readonly inner: Storage) {}

  hardState(): HardState {
    return this.inner.hardState();
  }
  staged(): StagedSnapshot | undefined {
    return this.inner.staged();
  }
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  lastIndex(): number {
    return this.inner.lastIndex();
  }
  term(index: number): number | undefined {
    return this.inner.term(index);
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.inner.entries(lo, hi, maxBytes);
  }
  snapshot(): SnapshotMeta | undefined {
    return this.inner.snapshot();
  }
  readSnapshotChunk(id: string, offset: number, length: number): Uint8Array | undefined {
    return this.inner.readSnapshotChunk(id, offset, length);
  }
  async persist(w: PersistWrite): Promise<void> {
    await this.inner.persist(w);
    applyWrite(this.mirror, w);
  }
  async saveSnapshot(meta: SnapshotMeta, image: Uint8Array, pinned?: readonly string[]): Promise<void> {
    await this.inner.saveSnapshot(meta, image, pinned);
    this.mirror.snap = meta;
  }
  async compact(index: number): Promise<void> {
    const t = this.inner.term(index);
    await this.inner.compact(index);
    const m = this.mirror;
    if (index > m.prevIndex && t !== undefined) {
      m.entries = m.entries.slice(index - m.prevIndex);
      m.prevIndex = index;
      m.prevTerm = t;
    }
  }
}
