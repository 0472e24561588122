// What the driver applies committed entries to (hashicorp/raft fsm.go: apply / snapshot / restore).

import type { Entry, SnapshotMeta } from './types.ts';

export interface StateMachine {
  /** Index of the last applied entry (durable, atomic with the state). */
  applied(): number;
  /**
   * Applies entries in log order (normal, empty and configuration entries alike) in one write
   * together with the new applied index; resolves with one result per entry once the write is
   * committed (visible to reads), not necessarily durable: a restart re-applies from the log.
   */
  apply(entries: readonly Entry[]): Promise<unknown[]>;
  /** A fixed image of the whole state at applied(). */
  snapshot(): Promise<Uint8Array>;
  /** Replaces the whole state with `image` (at meta.index); resolves once durable. */
  restore(meta: SnapshotMeta, image: Uint8Array): Promise<void>;
}
