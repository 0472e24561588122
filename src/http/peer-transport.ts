// Transport over HTTP: one outbound queue per peer, each drained by its own sender with an
// undici Pool, so a peer that is down (retried with exponential backoff) never slows the others.
// Up to MAX_IN_FLIGHT batches per peer are in flight at once, pipelined in order on one
// connection: the next batch (a pipelined leader's next Ready) leaves without waiting for the
// answer to the previous one. Messages that fail to send are dropped: Raft resends what matters.

import { Pool } from 'undici';
import type { Transport } from '../consensus/transport.ts';
import type { Message, NodeId } from '../consensus/types.ts';
import { ADDRESS_HEADER, CLUSTER_HEADER, FROM_HEADER, TOKEN_HEADER, WRONG_CLUSTER } from './peer-app.ts';
import { encodeBatch } from './peer-codec.ts';

export interface HttpTransportOptions {
  token: string;
  /** This node, announced on every request (see FROM_HEADER). */
  self?: { id: NodeId; address: string };
  /** The peer's base URL (http://host:peerPort), or undefined when unknown. */
  resolve(id: NodeId): string | undefined;
  /** This node's cluster id, sent on every request (undefined until known: a joining node). */
  clusterId?: () => string | undefined;
  /** Queued messages per peer beyond which the oldest are dropped. */
  maxQueue?: number;
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error?(obj: object, msg?: string): void };
}

/** Batches in flight per peer (HTTP/1.1 pipelining on one connection, so they arrive in order). */
const MAX_IN_FLIGHT = 4;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;

class PeerQueue {
  msgs: Message[] = [];
  /** Batches sent and not yet answered. */
  inFlight = 0;
  backoffMs = 0;
  timer: NodeJS.Timeout | undefined;
  pool: Pool | undefined;
  url: string | undefined;
}

export class HttpTransport implements Transport {
  private receivers = new Map<NodeId, (m: Message) => void>();
  private peers = new Map<NodeId, PeerQueue>();
  private closed = false;
  /** Per peer: ms of the last loud log of a cluster-id refusal (at most one per 10 s). */
  private refusedLogAt = new Map<NodeId, number>();

  private readonly headers: Record<string, string>;

  constructor(private readonly opts: HttpTransportOptions) {
    this.headers = { 'content-type': 'application/msgpack', [TOKEN_HEADER]: opts.token };
    if (opts.self) {
      this.headers[FROM_HEADER] = opts.self.id;
      this.headers[ADDRESS_HEADER] = opts.self.address;
    }
  }

  listen(id: NodeId, receive: (m: Message) => void): void {
    this.receivers.set(id, receive);
  }

  close(id: NodeId): void {
    this.receivers.delete(id);
  }

  /** Hands messages that arrived on the peer port to their receiver. */
  deliver(msgs: readonly Message[]): void {
    for (const m of msgs) this.receivers.get(m.to)?.(m);
  }

  send(messages: readonly Message[]): void {
    if (this.closed) return;
    for (const m of messages) {
      let q = this.peers.get(m.to);
      if (!q) {
        q = new PeerQueue();
        this.peers.set(m.to, q);
      }
      q.msgs.push(m);
      const max = this.opts.maxQueue ?? 10_000;
      if (q.msgs.length > max) q.msgs.splice(0, q.msgs.length - max);
    }
    for (const [id, q] of this.peers) if (q.msgs.length > 0) this.flush(id, q);
  }

  private flush(id: NodeId, q: PeerQueue): void {
    if (q.inFlight >= MAX_IN_FLIGHT || q.timer || this.closed) return;
    const url = this.opts.resolve(id);
    if (!url) {
      q.msgs = [];
      return;
    }
    if (q.url !== url) {
      void q.pool?.close();
      q.pool = new Pool(url, { connections: 1, pipelining: MAX_IN_FLIGHT, keepAliveTimeout: 30_000, connectTimeout: 1000, headersTimeout: 5000, bodyTimeout: 30_000 });
      q.url = url;
    }
    const batch = q.msgs;
    q.msgs = [];
    q.inFlight++;
    const body = encodeBatch(batch);
    const cluster = this.opts.clusterId?.();
    const headers = cluster === undefined ? this.headers : { ...this.headers, [CLUSTER_HEADER]: cluster };
    // idempotent + not blocking: undici pipelines it behind the batches already in flight (a
    // repeated Raft message is harmless; the peer answers at once, before stepping completes).
    q.pool!.request({ path: '/raft/messages', method: 'POST', body, headers, idempotent: true, blocking: false }).then(
      async (res) => {
        if (res.statusCode === 409) {
          const b = (await res.body.json().catch(() => ({}))) as { code?: string; clusterId?: string };
          if (b.code === WRONG_CLUSTER) this.wrongCluster(id, cluster, b.clusterId);
        } else await res.body.dump();
        if (res.statusCode >= 300) throw new Error(`peer ${id} answered ${res.statusCode}`);
        q.backoffMs = 0;
      },
    ).catch((err: Error) => {
      q.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, q.backoffMs * 2));
      this.opts.logger?.debug({ peer: id, err: err.message, dropped: batch.length, retryMs: q.backoffMs }, 'peer send failed');
    }).finally(() => {
      q.inFlight--;
      if (this.closed) return;
      if (q.backoffMs > 0) {
        q.timer = setTimeout(() => {
          q.timer = undefined;
          if (q.msgs.length > 0) this.flush(id, q);
        }, q.backoffMs);
        q.timer.unref();
      } else if (q.msgs.length > 0) this.flush(id, q);
    });
  }

  /** A peer refused us as a member of another cluster: said loudly (rate-limited), both ids. */
  private wrongCluster(peer: NodeId, ours: string | undefined, theirs: string | undefined): void {
    const now = Date.now();
    if (now - (this.refusedLogAt.get(peer) ?? -Infinity) < 10_000) return;
    this.refusedLogAt.set(peer, now);
    const log = this.opts.logger;
    const obj = { peer, ourCluster: ours ?? null, peerCluster: theirs ?? null };
    const msg = `peer ${peer} belongs to cluster ${theirs ?? '?'}, not ours (${ours ?? 'none yet'}): it refuses our messages. Two clusters share a node id or address — check the peer list and the data dirs`;
    if (log?.error) log.error(obj, msg);
    else log?.warn(obj, msg);
  }

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const q of this.peers.values()) {
      if (q.timer) clearTimeout(q.timer);
      await q.pool?.close().catch(() => {});
    }
  }
}
