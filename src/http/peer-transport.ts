// Transport over HTTP: one outbound stream per peer — a long-lived POST /raft/stream whose
// chunked body carries length-prefixed msgpack batches (a big-endian uint32 length, then the
// batch) — with no request or answer per batch: a batch leaves as soon as it is written, in order
// behind the previous one. A peer that is down (reconnected with exponential backoff) never slows
// the others. Messages written to a stream that breaks are lost: Raft resends what matters.
// The receiving side is peer-app.ts (createPeerListener); it answers only when a stream ends, or
// at once with 401/409 when it refuses it.

import { PassThrough } from 'node:stream';
import { Client, type Dispatcher } from 'undici';
import type { Transport } from '../consensus/transport.ts';
import type { Message, NodeId } from '../consensus/types.ts';
import { ADDRESS_HEADER, CLUSTER_HEADER, FROM_HEADER, STREAM_PATH, TOKEN_HEADER, WRONG_CLUSTER } from './peer-app.ts';
import { encodeBatch } from './peer-codec.ts';

export interface HttpTransportOptions {
  token: string;
  /** This node, announced on every stream (see FROM_HEADER). */
  self?: { id: NodeId; address: string };
  /** The peer's base URL (http://host:peerPort), or undefined when unknown. */
  resolve(id: NodeId): string | undefined;
  /** This node's cluster id, sent with every stream (undefined until known: a joining node). */
  clusterId?: () => string | undefined;
  /** Queued messages per peer beyond which the oldest are dropped. */
  maxQueue?: number;
  logger?: { debug(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error?(obj: object, msg?: string): void };
}

const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;

/** One open stream: the body being written and the undici client carrying it. */
interface Stream {
  body: PassThrough;
  client: Client;
}

class PeerQueue {
  msgs: Message[] = [];
  /** The open stream, the URL and cluster id it was opened with, and whether it takes writes now
   * (false while its socket buffer drains). */
  stream: Stream | undefined;
  url: string | undefined;
  cluster: string | undefined;
  writable = false;
  backoffMs = 0;
  timer: NodeJS.Timeout | undefined;
}

export class HttpTransport implements Transport {
  private receivers = new Map<NodeId, (m: Message) => void>();
  private goneReceivers = new Map<NodeId, (peer: NodeId) => void>();
  private peers = new Map<NodeId, PeerQueue>();
  private closed = false;
  /** Per peer: ms of the last loud log of a cluster-id refusal (at most one per 10 s). */
  private refusedLogAt = new Map<NodeId, number>();

  private readonly headers: Record<string, string>;

  constructor(private readonly opts: HttpTransportOptions) {
    this.headers = { 'content-type': 'application/x-muster-stream', [TOKEN_HEADER]: opts.token };
    if (opts.self) {
      this.headers[FROM_HEADER] = opts.self.id;
      this.headers[ADDRESS_HEADER] = opts.self.address;
    }
  }

  listen(id: NodeId, receive: (m: Message) => void, peerGone?: (peer: NodeId) => void): void {
    this.receivers.set(id, receive);
    if (peerGone) this.goneReceivers.set(id, peerGone);
  }

  close(id: NodeId): void {
    this.receivers.delete(id);
    this.goneReceivers.delete(id);
  }

  /** A peer's message stream into this node closed (peer-app.ts): tell the local receivers. */
  peerGone(peer: NodeId): void {
    for (const gone of this.goneReceivers.values()) gone(peer);
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

  /** Writes the queued messages to the peer's stream as one batch (opening the stream first). */
  private flush(id: NodeId, q: PeerQueue): void {
    if (q.timer || this.closed) return;
    const url = this.opts.resolve(id);
    if (!url) {
      q.msgs = [];
      return;
    }
    const cluster = this.opts.clusterId?.();
    if (q.stream && (q.url !== url || q.cluster !== cluster)) this.endStream(q); // moved, or the id became known
    if (!q.stream) this.openStream(id, q, url, cluster);
    if (!q.writable || q.msgs.length === 0) return;
    const body = encodeBatch(q.msgs);
    q.msgs = [];
    const frame = Buffer.allocUnsafe(4 + body.length);
    frame.writeUInt32BE(body.length, 0);
    frame.set(body, 4);
    if (!q.stream!.body.write(frame)) q.writable = false; // resumed on 'drain'
  }

  private openStream(id: NodeId, q: PeerQueue, url: string, cluster: string | undefined): void {
    const headers = cluster === undefined ? this.headers : { ...this.headers, [CLUSTER_HEADER]: cluster };
    // No timeouts on the answer: the peer answers only when the stream ends (or refuses it).
    const client = new Client(url, { connectTimeout: 1000, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 1000 });
    const body = new PassThrough();
    const st: Stream = { body, client };
    q.stream = st;
    q.url = url;
    q.cluster = cluster;
    q.writable = true;
    body.on('drain', () => {
      if (q.stream !== st) return;
      q.writable = true;
      if (q.msgs.length > 0) this.flush(id, q);
    });
    client.on('connect', () => {
      if (q.stream === st) q.backoffMs = 0; // reached the peer
    });
    client.request({ path: STREAM_PATH, method: 'POST', headers, body }).then(
      (res) => this.onAnswer(id, q, st, res, cluster),
      (err: Error) => this.broken(id, q, st, err.message),
    );
  }

  /** The peer answered: it refused the stream (401, 409 from another cluster) or ended it. */
  private onAnswer(id: NodeId, q: PeerQueue, st: Stream, res: Dispatcher.ResponseData, cluster: string | undefined): void {
    res.body.text().then(
      (text) => {
        if (res.statusCode === 409) {
          try {
            const b = JSON.parse(text) as { code?: string; clusterId?: string };
            if (b.code === WRONG_CLUSTER) this.wrongCluster(id, cluster, b.clusterId);
          } catch {
            // not the body we know
          }
        }
        this.broken(id, q, st, `peer ${id} answered ${res.statusCode}`);
      },
      () => this.broken(id, q, st, 'answer failed'),
    );
  }

  /** The stream failed or ended: drop it, and reconnect after a backoff when there is work. */
  private broken(id: NodeId, q: PeerQueue, st: Stream, why: string): void {
    if (q.stream !== st) return;
    q.stream = undefined;
    q.writable = false;
    st.body.destroy();
    void st.client.destroy().catch(() => undefined);
    if (this.closed) return;
    q.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, q.backoffMs * 2));
    this.opts.logger?.debug({ peer: id, why, retryMs: q.backoffMs }, 'peer stream closed');
    if (q.timer) return;
    q.timer = setTimeout(() => {
      q.timer = undefined;
      if (q.msgs.length > 0) this.flush(id, q);
    }, q.backoffMs);
    q.timer.unref();
  }

  private endStream(q: PeerQueue): void {
    const s = q.stream;
    q.stream = undefined;
    q.writable = false;
    s?.body.end();
    void s?.client.close().catch(() => undefined);
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
      const s = q.stream;
      q.stream = undefined;
      s?.body.destroy();
      await s?.client.destroy().catch(() => undefined);
    }
  }
}
