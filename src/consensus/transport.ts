// How Raft messages leave and arrive. Sending is best-effort and never throws: Raft tolerates
// loss, duplication and reordering.

import type { Message, NodeId } from './types.ts';

export interface Transport {
  send(messages: readonly Message[]): void;
  /** Registers the receiver of messages addressed to `id`. */
  listen(id: NodeId, receive: (m: Message) => void): void;
  /** Stops delivering to `id`. */
  close(id: NodeId): void;
}
