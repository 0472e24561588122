// In-memory Storage on a MemDisk: the reference implementation of the storage contract, used by
// unit tests and the simulator (where crashes lose what was not flushed).

import { entryBytes } from './log.ts';
import { MemDisk } from './memory-disk.ts';
import { SNAPSHOT_IMAGES_KEPT, type PersistWrite, type Storage } from './storage.ts';
import type { Entry, HardState, SnapshotMeta, StagedSnapshot } from './types.ts';

export interface MemRaftState {
  hs: HardState;
  /** Index and term of the entry just before entries[0] (the snapshot point after compaction). */
  prevIndex: number;
  prevTerm: number;
  entries: Entry[];
  snap: SnapshotMeta | undefined;
  /** Snapshot images by id: the newest few are kept so that a transfer in progress can finish. */
  images: Map<string, Uint8Array>;
  staged: { meta: SnapshotMeta; offset: number; crc: number; chunks: Uint8Array[] } | undefined;
}

/** What one node keeps on its (simulated) disk: the Raft state and the application's state. */
export interface NodeDiskState {
  raft: MemRaftState;
  app: unknown;
}


export function emptyNodeDisk(): NodeDiskState {
  return {
    raft: { hs: { term: 0, vote: null, commit: 0 }, prevIndex: 0, prevTerm: 0, entries: [], snap: undefined, images: new Map(), staged: undefined },
    app: undefined,
  };
}

export function newMemDisk(schedule?: (flush: () => void) => void): MemDisk<NodeDiskState> {
  return new MemDisk<NodeDiskState>(emptyNodeDisk(), (s) => structuredClone(s), schedule);
}

// ---- pure operations on a MemRaftState (applied to the visible and then the durable copy) ----

export function termAt(s: MemRaftState, index: number): number | undefined {
  if (index === s.prevIndex) return s.prevTerm;
  if (index < s.prevIndex) return undefined;
  return s.entries[index - s.prevIndex - 1]?.term;
}

function replaceFrom(s: MemRaftState, entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  let from = entries[0]!.index;
  let k = 0;
  while (from + k <= s.prevIndex && k < entries.length) k++; // never below the snapshot point
  from += k;
  if (k >= entries.length) return;
  s.entries.length = Math.min(s.entries.length, from - s.prevIndex - 1);
  if (s.entries.length !== from - s.prevIndex - 1) throw new Error(`storage gap at ${from}`);
  for (let i = k; i < entries.length; i++) s.entries.push(entries[i]!);
}

function keepImage(s: MemRaftState, id: string, image: Uint8Array, pinned: readonly string[] = []): void {
  s.images.delete(id);
  s.images.set(id, image); // newest last
  const ids = [...s.images.keys()];
  const recent = new Set(ids.slice(-SNAPSHOT_IMAGES_KEPT));
  for (const x of ids) if (!recent.has(x) && !pinned.includes(x)) s.images.delete(x);
}

/** Applies one persist to a MemRaftState (also used by checkers to mirror what another storage made durable). */
export function applyWrite(s: MemRaftState, w: PersistWrite): void {
  for (const op of w.snapshotOps) {
    if (op.op === 'discard') s.staged = undefined;
    else if (op.op === 'stage') {
      if (op.offset === 0 || !s.staged || s.staged.meta.id !== op.meta.id) s.staged = { meta: op.meta, offset: 0, crc: 0, chunks: [] };
      if (s.staged.offset !== op.offset) throw new Error(`staging offset ${op.offset}, expected ${s.staged.offset}`);
      s.staged.chunks.push(op.data);
      s.staged.offset += op.data.length;
      s.staged.crc = op.crc;
    } else {
      const meta = op.meta;
      if (!s.staged || s.staged.meta.id !== meta.id) throw new Error(`install of ${meta.id} without its staged image`);
      keepImage(s, meta.id, concat(s.staged.chunks));
      s.staged = undefined;
      // The core decided which durable entries survive (SnapshotOp 'install'): (meta.index, keepTo].
      if (op.keepTo < meta.index || op.keepTo > Math.max(meta.index, s.prevIndex + s.entries.length)) throw new Error(`install of ${meta.id} keeps up to ${op.keepTo}, log ends at ${s.prevIndex + s.entries.length}`);
      s.entries = s.entries.slice(meta.index - s.prevIndex, op.keepTo - s.prevIndex);
      s.prevIndex = meta.index;
      s.prevTerm = meta.term;
      s.snap = meta;
      s.hs = { ...s.hs, commit: Math.max(s.hs.commit, meta.index) };
    }
  }
  replaceFrom(s, w.entries);
  if (w.hardState) s.hs = { ...w.hardState };
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const n = chunks.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

export class MemoryStorage implements Storage {
  constructor(readonly disk: MemDisk<NodeDiskState> = newMemDisk()) {}

  private get s(): MemRaftState {
    return this.disk.visible.raft;
  }

  hardState(): HardState {
    return { ...this.s.hs };
  }
  staged(): StagedSnapshot | undefined {
    const st = this.s.staged;
    return st ? { meta: st.meta, offset: st.offset, crc: st.crc } : undefined;
  }
  firstIndex(): number {
    return this.s.prevIndex + 1;
  }
  lastIndex(): number {
    return this.s.prevIndex + this.s.entries.length;
  }
  term(index: number): number | undefined {
    return termAt(this.s, index);
  }
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const s = this.s;
    if (lo <= s.prevIndex) throw new Error(`entries(${lo}) below first index ${s.prevIndex + 1}`);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi && i <= this.lastIndex(); i++) {
      const e = s.entries[i - s.prevIndex - 1]!;
      bytes += entryBytes(e);
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }
  snapshot(): SnapshotMeta | undefined {
    return this.s.snap;
  }
  readSnapshotChunk(id: string, offset: number, length: number): Uint8Array | undefined {
    const img = this.s.images.get(id);
    return img ? img.subarray(offset, Math.min(img.length, offset + length)) : undefined;
  }

  persist(w: PersistWrite): Promise<void> {
    return this.disk.write((d) => applyWrite(d.raft, w));
  }
  saveSnapshot(meta: SnapshotMeta, image: Uint8Array, pinned: readonly string[] = []): Promise<void> {
    const pins = [...pinned];
    return this.disk.write((d) => {
      if (d.raft.snap && d.raft.snap.index >= meta.index) return;
      keepImage(d.raft, meta.id, image, pins);
      d.raft.snap = meta;
    });
  }
  compact(index: number): Promise<void> {
    return this.disk.write((d) => {
      const s = d.raft;
      if (index <= s.prevIndex) return;
      if (!s.snap || index > s.snap.index) throw new Error(`compact(${index}) beyond the snapshot`);
      const t = termAt(s, index);
      if (t === undefined) throw new Error(`compact(${index}) beyond the log`);
      s.entries = s.entries.slice(index - s.prevIndex);
      s.prevIndex = index;
      s.prevTerm = t;
    });
  }
}
