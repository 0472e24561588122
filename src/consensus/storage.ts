// What the consensus layer needs from stable storage. Reads are synchronous (the core reads the
// log through them, as etcd-io/raft reads its Storage); writes are asynchronous and resolve only
// once DURABLE. Implementations: memory-storage.ts (tests, simulator), the LMDB one (server).

import type { Entry, HardState, SnapshotMeta, SnapshotOp, StagedSnapshot } from './types.ts';

/** Snapshot images a storage keeps besides pinned ones: the newest, and the one before it. An
 * image being sent to a follower is PINNED by the leader (saveSnapshot's `pinned`) and kept
 * until its transfer ends — however many snapshots are taken meanwhile — so a resumed transfer
 * reads the same bytes and a long transfer under sustained writes still finishes. A pin's life
 * is bounded by the core (a transfer without progress for a while is abandoned, step-leader.ts). */
export const SNAPSHOT_IMAGES_KEPT = 2;

/** The read side, used by the core. */
export interface LogReader {
  /** Index of the first entry still in the log. Invariant: firstIndex() - 1 is the snapshot index
   * (or 0), and term(firstIndex() - 1) is known. */
  firstIndex(): number;
  /** Index of the last entry (firstIndex() - 1 when the log is empty). */
  lastIndex(): number;
  /** Term of the entry at `index`, for index in [firstIndex() - 1, lastIndex()]; otherwise undefined. */
  term(index: number): number | undefined;
  /** Entries in [lo, hi), lo >= firstIndex(), hi <= lastIndex() + 1, stopping once maxBytes is
   * passed (always at least one entry when lo < hi). */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** The newest snapshot kept (its image can be read by id), or undefined. */
  snapshot(): SnapshotMeta | undefined;
  /** Bytes [offset, offset + length) of image `id`; undefined when that image is no longer kept. */
  readSnapshotChunk(id: string, offset: number, length: number): Uint8Array | undefined;
}

/** One durable write, applied in this order: the snapshot ops (an install keeps the log suffix
 * after meta.index only if the log holds (meta.index, meta.term), and raises commit to meta.index),
 * then every entry from entries[0].index on is replaced by `entries`, then the hard state is set. */
export interface PersistWrite {
  hardState?: HardState;
  entries: Entry[];
  snapshotOps: SnapshotOp[];
}

export interface Storage extends LogReader {
  /** State as found at start (durable state only). */
  hardState(): HardState;
  staged(): StagedSnapshot | undefined;
  /** One transaction; resolves once durable. */
  persist(w: PersistWrite): Promise<void>;
  /** Keeps `image` as snapshot `meta`, the newest; of the older images it keeps the newest
   * SNAPSHOT_IMAGES_KEPT - 1 and every id in `pinned` (images in transfer), dropping the rest.
   * Resolves once durable. */
  saveSnapshot(meta: SnapshotMeta, image: Uint8Array, pinned?: readonly string[]): Promise<void>;
  /** Drops entries up to and including `index` (index <= snapshot().index). Resolves once durable. */
  compact(index: number): Promise<void>;
}
