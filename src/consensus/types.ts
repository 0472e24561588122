// The data the Raft core speaks in. Indexes and terms are positive integers; index 0 / term 0 mean
// "before the first entry". Node ids are opaque strings.

export type NodeId = string;

export const EntryType = { Normal: 'normal', Conf: 'conf' } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

/** A single-server membership change (or the bootstrap configuration, entry 1 of a new cluster).
 * Addresses are carried so that membership, with addresses, comes only from the log and snapshot
 * metadata. */
export type ConfChange =
  | { type: 'bootstrap'; voters: NodeId[]; addresses: Record<NodeId, string> }
  | { type: 'addLearner'; node: NodeId; address?: string }
  | { type: 'promote'; node: NodeId }
  | { type: 'remove'; node: NodeId };

export interface Entry {
  index: number;
  term: number;
  type: EntryType;
  /** Opaque payload of a normal entry; absent for the leader's empty entry. */
  data?: Uint8Array;
  /** Present exactly when type === 'conf'. */
  change?: ConfChange;
}

/** Persisted before any message that depends on it leaves the node. */
export interface HardState {
  term: number;
  vote: NodeId | null;
  commit: number;
}

export interface ConfState {
  voters: NodeId[];
  learners: NodeId[];
  /** Node id → address, as carried by configuration entries (may be empty in tests). */
  addresses: Record<NodeId, string>;
}

/** A fixed image of the state machine at `index` (lastIncludedIndex). `size` is in bytes;
 * `checksum` is the CRC-32 of the whole image. `id` names one image: a transfer resumed at an
 * offset reads the same bytes. */
export interface SnapshotMeta {
  id: string;
  index: number;
  term: number;
  conf: ConfState;
  size: number;
  checksum: number;
}

/** A snapshot that an installing follower is receiving: what it has staged durably. */
export interface StagedSnapshot {
  meta: SnapshotMeta;
  /** Bytes staged durably, [0, offset). */
  offset: number;
  /** Running CRC-32 over [0, offset). */
  crc: number;
}

export const MessageType = {
  App: 'app',
  AppResp: 'appResp',
  Heartbeat: 'heartbeat',
  HeartbeatResp: 'heartbeatResp',
  PreVote: 'preVote',
  PreVoteResp: 'preVoteResp',
  Vote: 'vote',
  VoteResp: 'voteResp',
  Snap: 'snap',
  SnapResp: 'snapResp',
  ReadIndex: 'readIndex',
  ReadIndexResp: 'readIndexResp',
  TimeoutNow: 'timeoutNow',
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** One chunk of an InstallSnapshot transfer: bytes [offset, offset + data.length) of image meta.id. */
export interface SnapChunk {
  meta: SnapshotMeta;
  offset: number;
  done: boolean;
  data: Uint8Array;
}

/** A Raft message. Fields beyond type/from/to/term are used per type (as in etcd's raftpb):
 * - app: index/logTerm of the entry preceding `entries`, commit.
 * - appResp: index = last index matched (accept) or the rejected probe index (reject);
 *   rejectHint = follower's first index of the conflicting term (or its last index + 1 when its
 *   log is shorter), conflictTerm = term of the follower's entry at that hint (0 if none).
 * - heartbeat: commit (clamped to the follower's match), seq (read-index round).
 * - (pre)vote: index/logTerm of the candidate's last entry; transfer flags a leadership transfer.
 * - snap: chunk. snapResp: snapId + offset durably staged; reject = restart at 0;
 *   index = follower's last index after a finished install (or its commit when ignored).
 * - readIndex / readIndexResp: context; index = read index; reject when the leader cannot serve.
 */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  index?: number;
  logTerm?: number;
  entries?: Entry[];
  commit?: number;
  reject?: boolean;
  rejectHint?: number;
  conflictTerm?: number;
  seq?: number;
  transfer?: boolean;
  context?: string;
  snap?: SnapChunk;
  snapId?: string;
  offset?: number;
  done?: boolean;
}

export const Role = {
  Follower: 'follower',
  PreCandidate: 'precandidate',
  Candidate: 'candidate',
  Leader: 'leader',
} as const;
export type Role = (typeof Role)[keyof typeof Role];

export interface SoftState {
  lead: NodeId | null;
  role: Role;
  /** True when this node is a learner (or not in the configuration at all). */
  learner: boolean;
}

/** The answer to readIndex(context): serve the read once applied >= index, or fail. */
export interface ReadState {
  context: string;
  index: number;
  /** Set when the read cannot be served (not leader, leader not ready, lost leadership). */
  error?: 'NOT_LEADER' | 'NOT_READY' | 'DROPPED';
  /** The leader as known at the time (for NOT_LEADER). */
  leader?: NodeId | null;
  /** True when served from a lease rather than a confirmed quorum round. */
  lease?: boolean;
}

/** Work for an installing follower, done in order within the persist of one Ready:
 * discard the staged image; stage a chunk durably at its offset (crc = running CRC-32 over
 * [0, offset + data.length)); install the staged image.
 *
 * An install carries the core's one decision about the log suffix, `keepTo`: afterwards the
 * durable log is the snapshot point (meta.index, meta.term) followed by exactly the durable
 * entries (meta.index, keepTo] — every durable entry above keepTo is deleted (keepTo ===
 * meta.index: none kept). The storage does not decide again: the core made the decision with
 * the entries of this same Ready (a truncating append stepped before the snapshot), which the
 * storage does not see until after the install. Invariant: keepTo >= meta.index. */
export type SnapshotOp =
  | { op: 'discard' }
  | { op: 'stage'; meta: SnapshotMeta; offset: number; data: Uint8Array; crc: number }
  | { op: 'install'; meta: SnapshotMeta; keepTo: number };

/**
 * Everything the core wants done, in order: persist (snapshotOps, then entries — which replace
 * every entry from entries[0].index on — then hardState, in one durable write), send
 * `messages` (may leave before the persist is durable), send `persistedMessages` (only after),
 * apply `committedEntries`, then call advance(ready).
 *
 * Readies may be pipelined: the next one may be taken (and its messages sent, its write started)
 * while earlier writes are in flight, as long as writes become durable in order and each Ready's
 * later steps (persisted messages, apply, advance) run in order after its own write.
 */
export interface Ready {
  softState?: SoftState;
  /** A (pre)candidate's own vote in this campaign: it counts at advance(), once this Ready's
   * term and vote are durable. */
  selfVote?: { term: number; role: Role };
  /** A truncation since the previous Ready replaced the log from this index on: acknowledgements
   * of indexes >= it that wait in earlier Readies (writes in flight) must not leave. */
  withdrawAcksFrom?: number;
  hardState?: HardState;
  entries: Entry[];
  snapshotOps: SnapshotOp[];
  messages: Message[];
  persistedMessages: Message[];
  committedEntries: Entry[];
  readStates: ReadState[];
}
