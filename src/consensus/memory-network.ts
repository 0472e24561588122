// An in-memory network of Transports for tests and the simulator (hashicorp/raft
// inmem_transport.go): drop, delay, duplication, reordering (through random delays), and
// symmetric or one-way partitions. Delivery is scheduled through an injected scheduler, so the
// simulator controls time; randomness is injected.

import type { Rand } from './rand.ts';
import type { Transport } from './transport.ts';
import type { Message, NodeId } from './types.ts';

export interface NetworkFaults {
  /** Probability a message is lost. */
  drop: number;
  /** Probability a message is delivered twice. */
  duplicate: number;
  /** Delivery delay in ms, uniform in [minDelay, maxDelay]: different delays reorder messages. */
  minDelay: number;
  maxDelay: number;
  /** Probability a message is held for long, uniform in (maxDelay, longDelayMs] (longer than an
   * election timeout: a late TimeoutNow, a stale acknowledgement). */
  longDelay?: number;
  longDelayMs?: number;
}

export const perfectNetwork: NetworkFaults = { drop: 0, duplicate: 0, minDelay: 0, maxDelay: 0 };

export class MemoryNetwork implements Transport {
  private receivers = new Map<NodeId, (m: Message) => void>();
  /** Blocked directions, as "from>to". */
  private blocked = new Set<string>();
  /** Directions severed for new messages only, "from>to" → first send number blocked: messages
   * already in flight still arrive (a link cut after they were delivered to the socket). */
  private severed = new Map<string, number>();
  private goneReceivers = new Map<NodeId, (peer: NodeId) => void>();
  faults: NetworkFaults;
  /** Observes every message as it is sent (before faults); used by checkers. */
  onSend: ((m: Message) => void) | undefined;
  /** Drops the messages it returns true for (scripted faults). */
  dropIf: ((m: Message) => boolean) | undefined;
  /** Extra delivery delay in ms for the messages it returns one for (scripted slow links). */
  extraDelay: ((m: Message) => number) | undefined;
  sent = 0;
  delivered = 0;
  /** Messages held for a long delay. */
  longDelayed = 0;

  constructor(
    private readonly rand: Rand,
    private readonly schedule: (delayMs: number, fn: () => void) => void,
    faults: NetworkFaults = perfectNetwork,
  ) {
    this.faults = { ...faults };
  }

  listen(id: NodeId, receive: (m: Message) => void, peerGone?: (peer: NodeId) => void): void {
    this.receivers.set(id, receive);
    if (peerGone) this.goneReceivers.set(id, peerGone);
    else this.goneReceivers.delete(id);
  }

  close(id: NodeId): void {
    this.receivers.delete(id);
    this.goneReceivers.delete(id);
  }

  /**
   * `id`'s process stopped or crashed: every node that can hear from it learns that its
   * connection closed, after `delayMs` (as a TCP reset or end of stream would reach it). A node
   * cut off from `id` learns nothing.
   */
  peerGone(id: NodeId, delayMs: number): void {
    for (const [to, gone] of this.goneReceivers) {
      if (to === id || this.isBlocked(id, to)) continue;
      this.schedule(delayMs, () => {
        if (!this.isBlocked(id, to) && this.goneReceivers.get(to) === gone) gone(id);
      });
    }
  }

  send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.sent++;
      this.onSend?.(m);
      if (this.blocked.has(`${m.from}>${m.to}`) || this.severed.has(`${m.from}>${m.to}`)) continue;
      if (this.dropIf?.(m)) continue;
      if (this.faults.drop > 0 && this.rand.int(1_000_000) < this.faults.drop * 1_000_000) continue;
      this.deliverLater(m);
      if (this.faults.duplicate > 0 && this.rand.int(1_000_000) < this.faults.duplicate * 1_000_000) this.deliverLater(m);
    }
  }

  private deliverLater(m: Message): void {
    const { minDelay, maxDelay, longDelay = 0, longDelayMs = 0 } = this.faults;
    let delay = minDelay + (maxDelay > minDelay ? this.rand.int(maxDelay - minDelay + 1) : 0);
    if (longDelay > 0 && longDelayMs > maxDelay && this.rand.int(1_000_000) < longDelay * 1_000_000) {
      delay = maxDelay + 1 + this.rand.int(longDelayMs - maxDelay);
      this.longDelayed++;
    }
    delay += this.extraDelay?.(m) ?? 0;
    this.schedule(delay, () => {
      // A partition that starts while a message is in flight drops it too.
      if (this.blocked.has(`${m.from}>${m.to}`)) return;
      const r = this.receivers.get(m.to);
      if (r) {
        this.delivered++;
        r(m);
      }
    });
  }

  /** Delivers `m` after exactly `delayMs` (scripted faults: a message held, then released). */
  deliverAfter(m: Message, delayMs: number): void {
    this.schedule(delayMs, () => {
      const r = this.receivers.get(m.to);
      if (r) {
        this.delivered++;
        r(m);
      }
    });
  }

  /** Blocks messages from `from` to `to` (one way). */
  cut(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  /** Splits the nodes into groups that cannot talk to each other (both ways). */
  partition(groups: NodeId[][]): void {
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut(x, y);
  }

  /** Isolates one node both ways from every node in `others`. */
  isolate(id: NodeId, others: readonly NodeId[]): void {
    for (const o of others) if (o !== id) {
      this.cut(id, o);
      this.cut(o, id);
    }
  }

  /** Like isolate, but only for messages sent from now on: those in flight still arrive. */
  sever(id: NodeId, others: readonly NodeId[]): void {
    for (const o of others) if (o !== id) {
      this.severed.set(`${id}>${o}`, this.sent);
      this.severed.set(`${o}>${id}`, this.sent);
    }
  }

  heal(): void {
    this.blocked.clear();
    this.severed.clear();
  }

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`) || this.severed.has(`${from}>${to}`);
  }
}
