// Configuration: conf/default.json, then a file named by --config, then environment variables;
// validated once with ajv (the schema carries the types and bounds), then frozen. A bad value
// stops the process with a message naming the field.

import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { validate as validCron } from 'node-cron';

export interface PeerAddress {
  id: string;
  host: string;
  httpPort: number;
  peerPort: number;
}

export interface Config {
  nodeId: string;
  /** Address other nodes and clients use to reach this one. */
  host: string;
  httpPort: number;
  peerPort: number;
  dataDir: string;
  /** Bootstraps an EMPTY data dir only (ignored, with a log line, afterwards). */
  peers: PeerAddress[];
  /** host:httpPort of a member to join through; the node never campaigns before it learns the configuration. */
  join: string | null;
  clusterToken: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  raft: {
    /** Milliseconds per tick. */
    tickMs: number;
    /** Election timeout, ticks. */
    electionTicks: number;
    heartbeatTicks: number;
    /** Snapshot once this many entries were applied since the last snapshot. */
    snapshotEntries: number;
    /** Entries kept behind a snapshot for slow followers. */
    keepEntries: number;
    /** InstallSnapshot chunk size, bytes. */
    snapshotChunkBytes: number;
    /** node-cron expression for periodic snapshots. */
    snapshotCron: string;
    leaseReads: boolean;
    requestTimeoutMs: number;
    /** Readies whose writes may be in flight at once (pipelined persist; 1 = none). */
    maxWritesInFlight: number;
  };
  registry: {
    /** How long a request id is remembered (applied leader time, ms); the same on every node. */
    requestIdRetentionMs: number;
    /** Largest accepted request body on the public port, bytes. */
    maxBodyBytes: number;
    /** ms between the leader's sweeps of ephemeral instances. */
    sweepMs: number;
    /** ms between a follower's beat digests to the leader. */
    beatDigestMs: number;
    /** ms between rounds of persistent-instance health checks. */
    checkIntervalMs: number;
    checkTimeoutMs: number;
    checkConcurrency: number;
    /** Consecutive disagreeing check results before a status flip. */
    checkFailures: number;
  };
  watch: {
    /** Changes kept in memory for resuming watchers. */
    historySize: number;
    /** ms between SSE keep-alive comments. */
    sseKeepAliveMs: number;
    /** Unsent bytes after which an SSE consumer is cut off. */
    sseMaxBufferedBytes: number;
    /** UDP port of Nacos push (0: any free port); bound on `host`. */
    udpPort: number;
    /** ms within which changes to one push target are coalesced into one push. */
    pushCoalesceMs: number;
    /** ms before an unacknowledged push is sent again (once). */
    pushAckTimeoutMs: number;
    /** ms without a poll after which a push target is dropped. */
    pushTargetTtlMs: number;
  };
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

const port = { type: 'integer', minimum: 1, maximum: 65535 } as const;
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['nodeId', 'host', 'httpPort', 'peerPort', 'dataDir', 'peers', 'join', 'clusterToken', 'logLevel', 'raft', 'registry', 'watch'],
  properties: {
    nodeId: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' },
    host: { type: 'string', minLength: 1 },
    httpPort: port,
    peerPort: port,
    dataDir: { type: 'string', minLength: 1 },
    peers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'host', 'httpPort', 'peerPort'],
        properties: { id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' }, host: { type: 'string', minLength: 1 }, httpPort: port, peerPort: port },
      },
    },
    join: { type: ['string', 'null'], pattern: '^[^:]+:[0-9]{1,5}$' },
    clusterToken: { type: 'string', minLength: 8 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    raft: {
      type: 'object',
      additionalProperties: false,
      required: ['tickMs', 'electionTicks', 'heartbeatTicks', 'snapshotEntries', 'keepEntries', 'snapshotChunkBytes', 'snapshotCron', 'leaseReads', 'requestTimeoutMs', 'maxWritesInFlight'],
      properties: {
        tickMs: { type: 'integer', minimum: 1, maximum: 10_000 },
        electionTicks: { type: 'integer', minimum: 2, maximum: 1000 },
        heartbeatTicks: { type: 'integer', minimum: 1, maximum: 1000 },
        snapshotEntries: { type: 'integer', minimum: 1 },
        keepEntries: { type: 'integer', minimum: 0 },
        snapshotChunkBytes: { type: 'integer', minimum: 256, maximum: 64 * 1024 * 1024 },
        snapshotCron: { type: 'string', minLength: 9 },
        leaseReads: { type: 'boolean' },
        requestTimeoutMs: { type: 'integer', minimum: 100 },
        maxWritesInFlight: { type: 'integer', minimum: 1, maximum: 64 },
      },
    },
    registry: {
      type: 'object',
      additionalProperties: false,
      required: ['requestIdRetentionMs', 'maxBodyBytes', 'sweepMs', 'beatDigestMs', 'checkIntervalMs', 'checkTimeoutMs', 'checkConcurrency', 'checkFailures'],
      properties: {
        requestIdRetentionMs: { type: 'integer', minimum: 1000 },
        maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 64 * 1024 * 1024 },
        sweepMs: { type: 'integer', minimum: 10, maximum: 60_000 },
        beatDigestMs: { type: 'integer', minimum: 10, maximum: 60_000 },
        checkIntervalMs: { type: 'integer', minimum: 10, maximum: 600_000 },
        checkTimeoutMs: { type: 'integer', minimum: 10, maximum: 60_000 },
        checkConcurrency: { type: 'integer', minimum: 1, maximum: 10_000 },
        checkFailures: { type: 'integer', minimum: 1, maximum: 100 },
      },
    },
    watch: {
      type: 'object',
      additionalProperties: false,
      required: ['historySize', 'sseKeepAliveMs', 'sseMaxBufferedBytes', 'udpPort', 'pushCoalesceMs', 'pushAckTimeoutMs', 'pushTargetTtlMs'],
      properties: {
        historySize: { type: 'integer', minimum: 16, maximum: 10_000_000 },
        sseKeepAliveMs: { type: 'integer', minimum: 100, maximum: 600_000 },
        sseMaxBufferedBytes: { type: 'integer', minimum: 1024 },
        udpPort: { type: 'integer', minimum: 0, maximum: 65535 },
        pushCoalesceMs: { type: 'integer', minimum: 0, maximum: 10_000 },
        pushAckTimeoutMs: { type: 'integer', minimum: 10, maximum: 60_000 },
        pushTargetTtlMs: { type: 'integer', minimum: 100, maximum: 3_600_000 },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: false }).compile(schema);

/** Parses MUSTER_PEERS: `id=host:httpPort:peerPort,...`. */
export function parsePeers(text: string): PeerAddress[] {
  if (text.trim() === '') return [];
  return text.split(',').map((item, i) => {
    const m = /^([^=]+)=([^:]+):(\d+):(\d+)$/.exec(item.trim());
    if (!m) throw new ConfigError(`MUSTER_PEERS item ${i + 1} ("${item}") must look like id=host:httpPort:peerPort`);
    return { id: m[1]!, host: m[2]!, httpPort: Number(m[3]), peerPort: Number(m[4]) };
  });
}

function intEnv(name: string, v: string): number {
  if (!/^\d+$/.test(v)) throw new ConfigError(`${name} must be an integer, got "${v}"`);
  return Number(v);
}

function readJson(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`config file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** Deep merge of plain objects (arrays and scalars replace). */
function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      out[k] = merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else out[k] = v;
  }
  return out;
}

export interface LoadOptions {
  defaultsPath: string;
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
}

/** Loads, validates and freezes the configuration. Throws ConfigError naming the field. */
export function loadConfig(o: LoadOptions): Readonly<Config> {
  let raw = readJson(o.defaultsPath);
  const i = o.argv.indexOf('--config');
  if (i >= 0) {
    const file = o.argv[i + 1];
    if (!file) throw new ConfigError('--config needs a file name');
    raw = merge(raw, readJson(file));
  }
  const e = o.env;
  const over: Record<string, unknown> = {};
  if (e.MUSTER_NODE_ID !== undefined) over.nodeId = e.MUSTER_NODE_ID;
  if (e.MUSTER_HOST !== undefined) over.host = e.MUSTER_HOST;
  if (e.MUSTER_HTTP_PORT !== undefined) over.httpPort = intEnv('MUSTER_HTTP_PORT', e.MUSTER_HTTP_PORT);
  if (e.MUSTER_PEER_PORT !== undefined) over.peerPort = intEnv('MUSTER_PEER_PORT', e.MUSTER_PEER_PORT);
  if (e.MUSTER_DATA_DIR !== undefined) over.dataDir = e.MUSTER_DATA_DIR;
  if (e.MUSTER_PEERS !== undefined) over.peers = parsePeers(e.MUSTER_PEERS);
  if (e.MUSTER_JOIN !== undefined) over.join = e.MUSTER_JOIN === '' ? null : e.MUSTER_JOIN;
  if (e.MUSTER_CLUSTER_TOKEN !== undefined) over.clusterToken = e.MUSTER_CLUSTER_TOKEN;
  if (e.MUSTER_LOG_LEVEL !== undefined) over.logLevel = e.MUSTER_LOG_LEVEL;
  raw = merge(raw, over);
  if (!validate(raw)) {
    const err = validate.errors![0]!;
    const field = (err.instancePath || '/').slice(1).replaceAll('/', '.') || (err.params as { additionalProperty?: string }).additionalProperty || '(root)';
    const extra = (err.params as { additionalProperty?: string }).additionalProperty;
    throw new ConfigError(extra ? `config: unknown field "${extra}"` : `config: ${field} ${err.message}`);
  }
  const c = raw as unknown as Config;
  if (c.httpPort === c.peerPort) throw new ConfigError('config: httpPort and peerPort must differ');
  if (c.raft.heartbeatTicks >= c.raft.electionTicks) throw new ConfigError('config: raft.heartbeatTicks must be less than raft.electionTicks');
  if (c.peers.length > 0 && !c.peers.some((p) => p.id === c.nodeId)) throw new ConfigError(`config: peers must include this node (${c.nodeId})`);
  if (!validCron(c.raft.snapshotCron)) throw new ConfigError(`config: raft.snapshotCron "${c.raft.snapshotCron}" is not a cron expression`);
  if (c.peers.length > 0 && c.join) throw new ConfigError('config: set either peers (bootstrap) or join, not both');
  return deepFreeze(c);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
