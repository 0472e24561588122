// One Muster node as a process sees it: LMDB storage and the state machine in one environment,
// the Raft driver, the peer port (Raft messages, forwarded proposals) and the cluster part of the
// public port (health, membership). Generic over the state machine, so the registry and the
// test key-value machine run on the same wiring.

import { createServer, type Server } from 'node:http';
import type { Express } from 'express';
import { open, type RootDatabase } from 'lmdb';
import { Packr } from 'msgpackr';
import { request as undiciRequest } from 'undici';
import type pino from 'pino';
import { RaftNode, type Committed } from '../consensus/driver.ts';
import { ConsensusError, ConsensusErrorCode } from '../consensus/errors.ts';
import { Proposer } from '../consensus/proposer.ts';
import { SeededRand, seedFrom } from '../consensus/rand.ts';
import type { StateMachine } from '../consensus/state-machine.ts';
import { wallTimer } from '../consensus/timer.ts';
import type { NodeId } from '../consensus/types.ts';
import type { Config } from '../config.ts';
import { CLUSTER_HEADER, createPeerListener, FROM_HEADER, PROPOSE_PATH, TOKEN_HEADER } from '../http/peer-app.ts';
import { clusterIdFor, clusterIdOfBootstrap } from './cluster-id.ts';
import { HttpTransport } from '../http/peer-transport.ts';
import { LmdbStorage } from '../storage/lmdb-storage.ts';

const packr = new Packr({ useRecords: false, moreTypes: false });

/** "host:httpPort:peerPort", as carried in configuration entries. */
export function nodeAddress(host: string, httpPort: number, peerPort: number): string {
  return `${host}:${httpPort}:${peerPort}`;
}

export function parseAddress(a: string): { host: string; httpPort: number; peerPort: number } | undefined {
  const m = /^(.+):(\d+):(\d+)$/.exec(a);
  return m ? { host: m[1]!, httpPort: Number(m[2]), peerPort: Number(m[3]) } : undefined;
}

export interface ClusterNodeOptions {
  config: Readonly<Config>;
  /** Builds the state machine on the node's LMDB environment (its writes share the file). */
  stateMachine(root: RootDatabase): StateMachine;
  logger: pino.Logger;
  /** Rewrites a proposal at the leader just before it is appended (the registry stamps the
   * leader's time into its commands). Applied to local and forwarded proposals alike. */
  stamp?(data: Uint8Array): Uint8Array;
}

/** A write waiting to be forwarded to the leader. */
interface ForwardedWrite {
  data: Uint8Array;
  timeoutMs: number;
  resolve: (at: { index: number; term: number }) => void;
  reject: (e: ConsensusError) => void;
}

export class ClusterNode {
  readonly id: NodeId;
  readonly storage: LmdbStorage;
  /** Writes to forward to each leader, sent together at the end of this turn (sendForwards). */
  private readonly forwards = new Map<NodeId, ForwardedWrite[]>();
  /** The state machine's LMDB environment (`<dataDir>/<id>/state`). */
  private readonly smRoot: RootDatabase;
  readonly sm: StateMachine;
  readonly raft: RaftNode;
  readonly transport: HttpTransport;
  private readonly proposer: Proposer;
  /** The cluster this node belongs to (cluster-id.ts); undefined until a joining node learns it. */
  private clusterId: string | undefined;
  private clusterIdUnsaved = false;
  /** Per sender: ms of the last loud log of a refused request (at most one per 10 s). */
  private readonly refusedLogAt = new Map<string, number>();
  private peerServer: Server | undefined;
  private readonly cfg: Readonly<Config>;
  private readonly log: pino.Logger;
  /** Addresses announced by peers (used when the configuration does not name them yet). */
  private readonly learned = new Map<NodeId, string>();
  /** Wall-clock ms of the last message from each peer (for status only). */
  private readonly contact = new Map<NodeId, number>();
  private readonly stamp: (data: Uint8Array) => Uint8Array;
  private readonly peerRoutes: ((app: Express) => void)[] = [];

  constructor(o: ClusterNodeOptions) {
    this.cfg = o.config;
    this.stamp = o.stamp ?? ((d) => d);
    this.id = o.config.nodeId;
    this.log = o.logger.child({ component: 'raft' }); // the process logger already binds the node id
    this.storage = LmdbStorage.open({ path: `${o.config.dataDir}/${this.id}` });
    // The state machine's own environment (asynchronous commits; lmdb-storage.ts says why).
    this.smRoot = open({ path: `${o.config.dataDir}/${this.id}/state`, maxDbs: 16 });
    this.sm = o.stateMachine(this.smRoot);
    this.transport = new HttpTransport({
      token: o.config.clusterToken,
      self: { id: this.id, address: nodeAddress(o.config.host, o.config.httpPort, o.config.peerPort) },
      resolve: (id) => this.peerUrl(id),
      clusterId: () => this.clusterId,
      logger: this.log,
    });
    const empty = this.storage.lastIndex() === 0 && !this.storage.snapshot() && this.storage.hardState().term === 0;
    // No peer list and nothing to join: the embedded default, a single-node cluster of itself.
    const peers =
      o.config.peers.length > 0 || o.config.join
        ? o.config.peers
        : [{ id: this.id, host: o.config.host, httpPort: o.config.httpPort, peerPort: o.config.peerPort }];
    this.clusterId = this.storage.clusterId();
    if (this.clusterId === undefined) {
      if (empty && peers.length > 0) {
        // Bootstrapping: every member computes the same id from the same peer list (saved in start()).
        this.clusterId = clusterIdFor(peers.map((p) => p.id), Object.fromEntries(peers.map((p) => [p.id, nodeAddress(p.host, p.httpPort, p.peerPort)])));
        this.clusterIdUnsaved = true;
      } else if (!empty) {
        // A data dir from before cluster ids were stored: entry 1 is the bootstrap configuration.
        const first = this.storage.firstIndex() === 1 && this.storage.lastIndex() >= 1 ? this.storage.entries(1, 2, 1 << 20)[0] : undefined;
        this.clusterId = clusterIdOfBootstrap(first?.change);
        this.clusterIdUnsaved = this.clusterId !== undefined;
      }
    }
    if (!empty && o.config.peers.length > 0) this.log.info({ peers: peers.map((p) => p.id) }, 'data dir is not empty: the configured peer list is ignored (membership comes from the log)');
    const r = o.config.raft;
    this.raft = new RaftNode({
      id: this.id,
      storage: this.storage,
      stateMachine: this.sm,
      transport: this.transport,
      timer: wallTimer,
      rand: new SeededRand(seedFrom(this.id, Date.now() & 0x7fffffff)),
      tickMs: r.tickMs,
      snapshotEntries: r.snapshotEntries,
      keepEntries: r.keepEntries,
      requestTimeoutMs: r.requestTimeoutMs,
      maxWritesInFlight: r.maxWritesInFlight,
      logger: this.log,
      traceReady: o.config.logLevel === 'trace',
      // A halted Raft node cannot recover in place: end the process (PM2 or the operator restarts it).
      onFatal: (err) => {
        this.log.fatal({ err }, 'raft node stopped');
        process.exit(1);
      },
      raft: {
        electionTicks: r.electionTicks,
        heartbeatTicks: r.heartbeatTicks,
        snapshotChunkBytes: r.snapshotChunkBytes,
        leaseReads: r.leaseReads,
        ...(empty && peers.length > 0
          ? { bootstrap: { voters: peers.map((p) => p.id), addresses: Object.fromEntries(peers.map((p) => [p.id, nodeAddress(p.host, p.httpPort, p.peerPort)])) } }
          : {}),
      },
    });
    const raft = this.raft;
    const stamp = this.stamp;
    // Local proposals are stamped here; forwarded ones by the leader's onPropose.
    const stamped = {
      get core() {
        return raft.core;
      },
      propose: (d: Uint8Array, t: number) => raft.propose(stamp(d), t),
      waitApplied: (i: number, t: number, ms: number) => raft.waitApplied(i, t, ms),
    };
    this.proposer = new Proposer({ raft: stamped, forward: (l, d, t) => this.forward(l, d, t), timer: wallTimer, retryMs: Math.min(100, r.tickMs) });
  }

  /** Adds endpoints to the peer port (behind its token check); call before start(). */
  addPeerRoutes(add: (app: Express) => void): void {
    this.peerRoutes.push(add);
  }

  /** Listens on the peer port and starts the Raft node. */
  async start(): Promise<void> {
    if (this.clusterId !== undefined && this.clusterIdUnsaved) {
      await this.storage.saveClusterId(this.clusterId);
      this.clusterIdUnsaved = false;
    }
    this.log.info({ clusterId: this.clusterId ?? null }, this.clusterId ? 'cluster id' : 'no cluster id yet: learned from the cluster this node joins');
    const app = createPeerListener({
      admit: (theirs, from) => this.admit(theirs, from),
      token: this.cfg.clusterToken,
      nodeId: this.id,
      onMessages: (msgs) => {
        const now = Date.now();
        for (const m of msgs) this.contact.set(m.from, now);
        this.transport.deliver(msgs);
      },
      onStreamClosed: (from) => this.transport.peerGone(from),
      logger: this.log,
      // Answered once appended: the follower that forwarded it waits for (index, term) itself.
      onPropose: (data) => this.raft.append(this.stamp(data)),
      onPeerSeen: (id, address) => this.learned.set(id, address),
      extraRoutes: this.peerRoutes,
    });
    this.peerServer = createServer(app);
    this.peerServer.requestTimeout = 0; // peer streams are long-lived requests (peer-transport.ts)
    await new Promise<void>((resolve, reject) => {
      this.peerServer!.once('error', reject);
      this.peerServer!.listen(this.cfg.peerPort, '0.0.0.0', () => resolve());
    });
    await this.raft.start(); // includes a state machine restore left unfinished by a crash
    this.log.info({ peerPort: this.cfg.peerPort }, 'raft node started');
  }

  /**
   * Admits a peer request by its cluster id (PeerAppOptions.admit). A node that has none yet (a
   * joining node, empty data dir) learns it from the first request that carries one, durably,
   * before anything is stepped. A request of another cluster is refused, and said loudly with
   * both ids: nothing of it may mix into this node's history.
   */
  private async admit(theirs: string | undefined, from: string | undefined): Promise<string | undefined> {
    if (this.clusterId === undefined && theirs !== undefined) {
      this.clusterId = theirs;
      await this.storage.saveClusterId(theirs);
      this.log.info({ clusterId: theirs, from }, 'learned the cluster id from the cluster this node joins');
      return undefined;
    }
    if (theirs !== undefined && theirs === this.clusterId) return undefined;
    const ours = this.clusterId ?? '(none)';
    const key = from ?? '?';
    const now = Date.now();
    if (now - (this.refusedLogAt.get(key) ?? -Infinity) >= 10_000) {
      this.refusedLogAt.set(key, now);
      this.log.error(
        { ourCluster: ours, peerCluster: theirs ?? null, from: from ?? null },
        `REFUSED a peer request from ${from ?? 'an unnamed peer'} of cluster ${theirs ?? '(none sent)'}: this node belongs to cluster ${ours}. Two clusters must not share a node (check the peer lists and data dirs)`,
      );
    }
    return ours;
  }

  /** Milliseconds since this node last heard from `id` (null when never, or unknown). */
  lastContact(id: NodeId): number | null {
    if (id === this.id) return 0;
    const t = this.contact.get(id);
    return t === undefined ? null : Date.now() - t;
  }

  /** Headers every peer request of this node carries (token, sender, cluster id). */
  peerHeaders(): Record<string, string> {
    return { [TOKEN_HEADER]: this.cfg.clusterToken, [FROM_HEADER]: this.id, ...(this.clusterId ? { [CLUSTER_HEADER]: this.clusterId } : {}) };
  }

  /** The peer port's base URL of node `id` (http://host:peerPort), or undefined when unknown. */
  peerUrl(id: NodeId): string | undefined {
    const a = this.raft.core?.conf.addresses[id] ?? this.learned.get(id);
    const parsed = a ? parseAddress(a) : undefined;
    if (parsed) return `http://${parsed.host}:${parsed.peerPort}`;
    const p = this.cfg.peers.find((x) => x.id === id);
    return p ? `http://${p.host}:${p.peerPort}` : undefined;
  }

  /**
   * Commits `data` through the leader from any node (proposer.ts): proposes here when leading,
   * else forwards to the leader over the peer port, then waits until THIS node has applied it
   * (read-your-writes). Retries send the same bytes (the same request id inside); once any
   * attempt may have been appended, every failure is UNKNOWN — never a false failure.
   */
  propose(data: Uint8Array, timeoutMs = this.cfg.raft.requestTimeoutMs): Promise<Committed> {
    return this.proposer.propose(data, timeoutMs);
  }

  /** One forwarded attempt (ForwardFn): queued and sent to the leader with every other write
   * forwarded in the same turn of the event loop, in one request (sendForwards). */
  private forward(leader: NodeId, data: Uint8Array, timeoutMs: number): Promise<{ index: number; term: number }> {
    return new Promise((resolve, reject) => {
      let q = this.forwards.get(leader);
      if (!q) {
        this.forwards.set(leader, (q = []));
        setImmediate(() => {
          const batch = this.forwards.get(leader) ?? [];
          this.forwards.delete(leader);
          void this.sendForwards(leader, batch);
        });
      }
      q.push({ data, timeoutMs, resolve, reject });
    });
  }

  /** Sends a batch of forwarded writes; each gets its own outcome. NOT_LEADER only when nothing
   * reached the leader; a lost or garbled answer is UNKNOWN for every write of the batch. */
  private async sendForwards(leader: NodeId, batch: ForwardedWrite[]): Promise<void> {
    const failAll = (e: ConsensusError) => batch.forEach((f) => f.reject(e));
    const url = this.peerUrl(leader);
    if (!url) return failAll(new ConsensusError('NOT_LEADER', `no address for leader ${leader}`, { leader }));
    const timeoutMs = Math.max(1, ...batch.map((f) => f.timeoutMs));
    let res;
    try {
      res = await undiciRequest(`${url}${PROPOSE_PATH}`, {
        method: 'POST',
        body: Buffer.from(packr.pack(batch.map((f) => f.data))),
        headers: { 'content-type': 'application/msgpack', [TOKEN_HEADER]: this.cfg.clusterToken, [FROM_HEADER]: this.id, ...(this.clusterId ? { [CLUSTER_HEADER]: this.clusterId } : {}) },
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
    } catch (e) {
      // Refused before anything was sent: certainly not appended. Anything else may have reached it.
      const refused = (e as { code?: string }).code === 'ECONNREFUSED';
      return failAll(new ConsensusError(refused ? 'NOT_LEADER' : 'UNKNOWN', `forwarding to leader ${leader} failed: ${(e as Error).message}`, { leader, cause: e }));
    }
    let v: unknown;
    try {
      v = packr.unpack(new Uint8Array(await res.body.arrayBuffer()));
    } catch (e) {
      // The leader answered, but its answer was lost or garbled: it may have appended the writes.
      return failAll(new ConsensusError('UNKNOWN', `the answer of leader ${leader} was lost: ${(e as Error).message}`, { leader, cause: e }));
    }
    if (res.statusCode !== 200 || !Array.isArray(v) || v.length !== batch.length) {
      const o = (v ?? {}) as { code?: string; message?: string; leader?: string | null };
      // Refused whole (token, cluster, malformed): nothing was appended.
      const known = res.statusCode !== 200 && typeof o.code === 'string' && o.code in ConsensusErrorCode;
      return failAll(new ConsensusError(known ? (o.code as ConsensusError['code']) : res.statusCode === 200 ? 'UNKNOWN' : 'NOT_LEADER', o.message ?? `leader answered ${res.statusCode}`, { leader: o.leader ?? null }));
    }
    (v as { index?: number; term?: number; code?: string; message?: string; leader?: string | null }[]).forEach((o, k) => {
      const f = batch[k]!;
      if (typeof o.index === 'number' && typeof o.term === 'number') return f.resolve({ index: o.index, term: o.term });
      const known = typeof o.code === 'string' && o.code in ConsensusErrorCode;
      f.reject(new ConsensusError(known ? (o.code as ConsensusError['code']) : 'UNKNOWN', o.message ?? 'the leader refused the write', { leader: o.leader ?? null }));
    });
  }

  /** SIGTERM: stop taking work, hand leadership away, flush, close. */
  async stop(): Promise<void> {
    const core = this.raft.core;
    if (core && core.role === 'leader' && core.conf.voters.length > 1) {
      const target = Object.entries(core.status().progress)
        .filter(([id]) => id !== this.id && core.conf.voters.includes(id))
        .sort((a, b) => b[1].match - a[1].match)[0]?.[0];
      if (target) await this.raft.transferLeader(target).catch((e) => this.log.warn({ err: (e as Error).message }, 'leadership transfer on shutdown failed'));
    }
    await this.raft.stop();
    await new Promise<void>((r) => {
      if (!this.peerServer) return r();
      this.peerServer.close(() => r());
      this.peerServer.closeAllConnections(); // peers' streams are long-lived requests
    });
    await this.transport.shutdown();
    await this.storage.close();
    await this.smRoot.flushed;
    await this.smRoot.close();
  }
}
