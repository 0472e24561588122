// How Raft messages leave and arrive. Sending is best-effort and never throws: Raft tolerates
// loss, duplication and reordering.

import type { Message, NodeId } from './types.ts';

export interface Transport {
  send(messages: readonly Message[]): void;
  /** Registers the receiver of messages addressed to `id`, and optionally of notices that a
   * peer's connection closed (its process stopped or crashed; not sent for a silent network). */
  listen(id: NodeId, receive: (m: Message) => void, peerGone?: (peer: NodeId) => void): void;
  /** Stops delivering to `id`. */
  close(id: NodeId): void;
}
