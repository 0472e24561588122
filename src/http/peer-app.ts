// The peer port: Raft message streams and batches between nodes, forwarded writes, and further
// endpoints. Every request must carry the cluster token; a wrong or missing token is refused (401)
// and nothing is stepped; a request from another cluster is refused (409); a malformed body is
// refused (400), logged, and never crashes the node. The checks and the hot routes (the message
// stream, single batches) run on plain node:http (createPeerListener; no user sees this port),
// the other routes on express.

import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type Express, type Request, type Response } from 'express';
import { Packr } from 'msgpackr';
import { ConsensusError } from '../consensus/errors.ts';
import type { Message } from '../consensus/types.ts';
import { decodeBatch, PeerCodecError } from './peer-codec.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

export const TOKEN_HEADER = 'x-muster-token';
/** The sending node's id and address (host:httpPort:peerPort), so that a node that does not yet
 * know the configuration (a joining node) can answer. */
export const FROM_HEADER = 'x-muster-from';
export const ADDRESS_HEADER = 'x-muster-address';
/** The id of the sender's cluster (server/cluster-id.ts), on every peer request. */
export const CLUSTER_HEADER = 'x-muster-cluster';
/** The refusal of a request from another cluster (409). */
export const WRONG_CLUSTER = 'PEER_WRONG_CLUSTER';
/** Forwarded writes (cluster-node.ts batches them per turn of the event loop). */
export const PROPOSE_PATH = '/raft/propose-batch';
/** A long-lived stream of length-prefixed batches (peer-transport.ts). */
export const STREAM_PATH = '/raft/stream';

export interface PeerAppOptions {
  token: string;
  /** This node's id: a batch with a message addressed to another node is refused. */
  nodeId?: string;
  /** Receives every message of a valid batch, in order. */
  onMessages(msgs: Message[]): void;
  logger?: { warn(obj: object, msg?: string): void };
  /** Admits a request by the sender's cluster id (undefined when it sent none): resolves with
   * undefined to admit, or with this node's cluster id to refuse (409, nothing is stepped). */
  admit?(clusterId: string | undefined, from: string | undefined): Promise<string | undefined> | string | undefined;
  /** A sender's message stream closed (its process stopped or crashed, or it reopens the stream). */
  onStreamClosed?(from: string): void;
  /** Called with the sender's id and address on every authenticated request that names them. */
  onPeerSeen?(id: string, address: string): void;
  /** A write forwarded by a follower: append it (this node leads) and return where it landed
   * (the follower waits for that entry to apply, and learns SUPERSEDED if another took it). */
  onPropose?(data: Uint8Array): Promise<{ index: number; term: number }>;
  /** Largest accepted body, bytes. */
  maxBodyBytes?: number;
  /** Further endpoints (e.g. the registry's beat digests), mounted behind the token check. */
  extraRoutes?: readonly ((app: Express) => void)[];
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The peer port's express routes behind the listener's checks (createPeerListener): forwarded
 * writes, further endpoints (beat digests), and 404 for anything else. */
function createPeerApp(opts: PeerAppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  if (opts.onPropose) {
    const onPropose = opts.onPropose;
    // Writes forwarded by a follower, batched per turn of its event loop: a msgpack array of
    // proposals in, an array of outcomes out ({ index, term } or { code, message, leader }).
    app.post(PROPOSE_PATH, express.raw({ type: () => true, limit: opts.maxBodyBytes ?? 64 * 1024 * 1024 }), (req: Request, res: Response) => {
      let batch: unknown;
      try {
        batch = req.body instanceof Uint8Array && req.body.length > 0 ? packr.unpack(req.body) : undefined;
      } catch {
        batch = undefined;
      }
      if (!Array.isArray(batch) || batch.length === 0 || !batch.every((d) => d instanceof Uint8Array && d.length > 0)) {
        res.status(400).json({ code: 'PEER_BAD_PROPOSAL', message: 'body must be a msgpack array of proposals (non-empty binaries)' });
        return;
      }
      void Promise.allSettled((batch as Uint8Array[]).map((d) => onPropose(d))).then((outcomes) => {
        const out = outcomes.map((o) => {
          if (o.status === 'fulfilled') return { index: o.value.index, term: o.value.term };
          const err = o.reason instanceof ConsensusError ? o.reason : new ConsensusError('UNKNOWN', String(o.reason));
          return { code: err.code, message: err.message, leader: err.leader ?? null };
        });
        res.status(200).type('application/msgpack').send(Buffer.from(packr.pack(out)));
      });
    });
  }
  for (const add of opts.extraRoutes ?? []) add(app);
  app.use((_req: Request, res: Response) => {
    res.status(404).json({ code: 'PEER_NOT_FOUND', message: 'no such peer endpoint' });
  });
  return app;
}

/** The peer port's request listener: the token and cluster checks for every request, then the
 * message stream and single batches on plain node:http, every other route on the express app. */
export function createPeerListener(opts: PeerAppOptions): RequestListener {
  const app = createPeerApp(opts);
  const limit = opts.maxBodyBytes ?? 64 * 1024 * 1024;
  return (req, res) => {
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    const got = header(TOKEN_HEADER);
    if (got === undefined || !sameToken(got, opts.token)) {
      opts.logger?.warn({ remote: req.socket.remoteAddress, path: req.url }, 'peer request without a valid cluster token refused');
      sendJson(res, 401, { code: 'PEER_UNAUTHORIZED', message: `missing or wrong ${TOKEN_HEADER}` });
      req.resume();
      return;
    }
    const from = header(FROM_HEADER);
    const address = header(ADDRESS_HEADER);
    const theirs = header(CLUSTER_HEADER);
    // The body stays unread (buffered by the socket) until the request is admitted.
    const admitted = (ours: string | undefined) => {
      if (ours !== undefined) {
        sendJson(res, 409, { code: WRONG_CLUSTER, message: `this node belongs to cluster ${ours}; the request came from ${from ?? 'a peer'} of cluster ${theirs ?? '(none sent)'}`, clusterId: ours });
        req.resume();
        return;
      }
      if (from && address && /^[A-Za-z0-9_.-]{1,64}$/.test(from) && /^[^\s:]+:\d{1,5}:\d{1,5}$/.test(address)) opts.onPeerSeen?.(from, address);
      if (req.method === 'POST' && req.url === STREAM_PATH) readStream(opts, req, res, limit, from);
      else if (req.method === 'POST' && req.url === '/raft/messages') readBatch(opts, req, res, limit, from);
      else app(req, res);
    };
    const a = opts.admit?.(theirs, from);
    if (a instanceof Promise) a.then(admitted, (e: unknown) => sendJson(res, 500, { code: 'PEER_ERROR', message: String(e) }));
    else admitted(a);
  };
}

/** One batch in the body (POST /raft/messages): stepped whole, or refused whole. */
function readBatch(opts: PeerAppOptions, req: IncomingMessage, res: ServerResponse, limit: number, from: string | undefined): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= limit) chunks.push(c);
  });
  req.on('error', () => undefined);
  req.on('end', () => {
    if (size > limit) sendJson(res, 413, { code: 'PEER_TOO_LARGE', message: `body larger than ${limit} bytes` });
    else deliverBatch(opts, req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), from);
  });
}

/** Reads a stream of length-prefixed batches, stepping each as it completes. A frame over the
 * limit, or a batch that does not decode, ends the stream with 413 / 400 (that batch is not
 * stepped; the sender reconnects). The answer comes only when the stream ends. */
function readStream(opts: PeerAppOptions, req: IncomingMessage, res: ServerResponse, limit: number, from: string | undefined): void {
  let buf: Buffer = Buffer.alloc(0);
  let done = false;
  const refuse = (status: number, body: { code: string; message: string }) => {
    done = true;
    res.setHeader('connection', 'close'); // the rest of the stream is not read
    res.on('finish', () => req.destroy());
    sendJson(res, status, body);
  };
  req.on('data', (c: Buffer) => {
    if (done) return;
    buf = buf.length === 0 ? c : Buffer.concat([buf, c]);
    while (buf.length >= 4) {
      const n = buf.readUInt32BE(0);
      if (n > limit) return refuse(413, { code: 'PEER_TOO_LARGE', message: `batch larger than ${limit} bytes` });
      if (buf.length < 4 + n) break;
      const body = buf.subarray(4, 4 + n);
      buf = buf.subarray(4 + n);
      const msgs = decodeOrRefusal(opts, req, body, from);
      if (msgs instanceof PeerCodecError) return refuse(400, { code: msgs.code, message: msgs.message });
      opts.onMessages(msgs);
    }
  });
  req.on('error', () => undefined);
  req.on('end', () => {
    if (done) return;
    res.statusCode = 200;
    res.end();
  });
  if (from !== undefined) req.on('close', () => opts.onStreamClosed?.(from));
}

/** Decodes a batch; a malformed one is logged and returned as the refusal to answer (400). */
function decodeOrRefusal(opts: PeerAppOptions, req: IncomingMessage, body: Uint8Array, from: string | undefined): Message[] | PeerCodecError {
  try {
    return decodeBatch(body, opts.nodeId);
  } catch (e) {
    if (!(e instanceof PeerCodecError)) throw e;
    opts.logger?.warn({ remote: req.socket.remoteAddress, from, err: e.message }, 'malformed peer batch refused');
    return e;
  }
}

function deliverBatch(opts: PeerAppOptions, req: IncomingMessage, res: ServerResponse, body: Buffer, from: string | undefined): void {
  if (body.length === 0) {
    sendJson(res, 400, { code: 'PEER_BAD_BATCH', message: 'body must be a msgpack array of messages' });
    return;
  }
  const msgs = decodeOrRefusal(opts, req, body, from);
  if (msgs instanceof PeerCodecError) {
    sendJson(res, 400, { code: msgs.code, message: msgs.message });
    return;
  }
  opts.onMessages(msgs);
  res.statusCode = 204;
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
