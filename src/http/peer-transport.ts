// Transport over HTTP: one outbound queue per peer, each drained by its own sender with an
// undici Pool, so a peer that is down (retried with exponential backoff) never slows the others.
// Messages that fail to send are dropped: Raft resends what matters.

import { Pool } from 'undici';
import type { Transport } from '../consensus/transport.ts';
import type { Message, NodeId } from '../consensus/types.ts';
import { ADDRESS_HEADER, FROM_HEADER, TOKEN_HEADER } from './peer-app.ts';
import { encodeBatch } from './peer-codec.ts';

export interface HttpTransportOptions {
  token: string;
  /** This node, announced on every request (see FROM_HEADER). */
  self?: { id: NodeId; address: string };
  /** The peer's base URL (http://host:peerPort), or undefined when unknown. */
  resolve(id: NodeId): string | undefined;
  /** Queued messages per peer beyond which the oldest are dropped. */
  maxQueue?: number;
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void };
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;

class PeerQueue {
  msgs: Message[] = [];
  sending = false;
  backoffMs = 0;
  timer: NodeJS.Timeout | undefined;
  pool: Pool | undefined;
  url: string | undefined;
}

export class HttpTransport implements Transport {
  private receivers = new Map<NodeId, (m: Message) => void>();
  private peers = new Map<NodeId, PeerQueue>();
  private closed = false;

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
    if (q.sending || q.timer || this.closed) return;
    const url = this.opts.resolve(id);
    if (!url) {
      q.msgs = [];
      return;
    }
    if (q.url !== url) {
      void q.pool?.close();
      q.pool = new Pool(url, { connections: 2, pipelining: 1, keepAliveTimeout: 30_000, connectTimeout: 1000, headersTimeout: 5000, bodyTimeout: 30_000 });
      q.url = url;
    }
    const batch = q.msgs;
    q.msgs = [];
    q.sending = true;
    const body = encodeBatch(batch);
    q.pool!.request({ path: '/raft/messages', method: 'POST', body, headers: this.headers }).then(
      async (res) => {
        await res.body.dump();
        if (res.statusCode >= 300) throw new Error(`peer ${id} answered ${res.statusCode}`);
        q.backoffMs = 0;
      },
    ).catch((err: Error) => {
      q.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, q.backoffMs * 2));
      this.opts.logger?.debug({ peer: id, err: err.message, dropped: batch.length, retryMs: q.backoffMs }, 'peer send failed');
    }).finally(() => {
      q.sending = false;
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

  async shutdown(): Promise<void> {
    this.closed = true;
    for (const q of this.peers.values()) {
      if (q.timer) clearTimeout(q.timer);
      await q.pool?.close().catch(() => {});
    }
  }
}
