// The core's options, with their defaults. Timeouts are in ticks, sizes in bytes.

import type { LogReader } from './storage.ts';
import type { Rand } from './rand.ts';
import type { ConfState, HardState, NodeId, StagedSnapshot } from './types.ts';

/** Test-only switches that break the core on purpose; the simulator must catch each. */
export interface Mutations {
  /** Commit a previous-term entry by counting replicas (Raft paper, Figure 8). */
  commitPrevTermByCount?: boolean;
  /** Send a vote response before the vote is persisted. */
  voteBeforePersist?: boolean;
  /** Send heartbeats with the leader's commit, not min(commit, follower's match). */
  skipHeartbeatCommitClamp?: boolean;
  /** Allow a configuration change before the leader has committed an entry of its term. */
  confChangeBeforeTermCommit?: boolean;
  /** Serve ReadIndex before the leader's empty entry commits. */
  readIndexBeforeNoop?: boolean;
  /** Decide whether an install keeps the log suffix by the durable log only, ignoring the
   * unstable tail of the same Ready (issue 9, bug 6). */
  keepSuffixByDurableOnly?: boolean;
  /** A (re)started voter grants (pre)votes at once, although it may have just confirmed a
   * lease it no longer remembers (issue 9, bug 1). */
  grantVoteAfterRestart?: boolean;
  /** Serve lease reads during a transfer and after a TimeoutNow left (issue 9, bug 2). */
  leaseNotEndedOnTransfer?: boolean;
  /** Serve ReadIndex without the confirming heartbeat round. */
  readIndexWithoutRound?: boolean;
  /** Confirm a read by acknowledgements of a round sent before the read arrived. */
  readConfirmedByEarlierRound?: boolean;
  /** Count learners toward the commit quorum. */
  learnersCountInQuorum?: boolean;
  /** A follower commits to min(leaderCommit, its last index) instead of the last entry matched. */
  followerCommitToLastIndex?: boolean;
  /** The leader counts its own unpersisted entries toward the quorum. */
  leaderCountsUndurable?: boolean;
  /** A truncating append does not withdraw acknowledgements of the truncated entries that have
   * not left yet. */
  noAckWithdrawalOnTruncate?: boolean;
  /** Proposal outcomes matched by index alone (driver). */
  outcomeByIndexOnly?: boolean;
}

export interface RaftConfig {
  id: NodeId;
  storage: LogReader & { hardState(): HardState; staged(): StagedSnapshot | undefined };
  /** The state machine's applied index at start (durable, atomic with its state). */
  applied: number;
  rand: Rand;
  /** Election timeout in ticks; each node randomizes it in [electionTicks, 2 * electionTicks). */
  electionTicks?: number;
  /** Heartbeat interval in ticks. */
  heartbeatTicks?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  maxEntriesPerMsg?: number;
  maxBytesPerMsg?: number;
  /** In-flight append messages per follower in replicate state. */
  maxInflight?: number;
  /** Bytes per InstallSnapshot chunk. */
  snapshotChunkBytes?: number;
  /** A learner is promoted only once its match is within this many entries of the last index. */
  catchUpMargin?: number;
  /** Serve reads from a lease (requires checkQuorum). */
  leaseReads?: boolean;
  /** Clock drift tolerated by leases: every node's clock runs at a rate within
   * [1 - maxClockDrift, 1 + maxClockDrift] of real time. Lease length: lease.ts leaseSpan. */
  maxClockDrift?: number;
  /** Configuration for an EMPTY log only (written as entry 1, term 1); ignored otherwise. */
  bootstrap?: { voters: NodeId[]; addresses?: Record<NodeId, string> };
  /** Bytes of committed entries handed out per Ready. */
  maxApplyBytes?: number;
  mutations?: Mutations;
}

export type Resolved = Required<Omit<RaftConfig, 'bootstrap' | 'mutations'>> & Pick<RaftConfig, 'bootstrap'>;

export const emptyConf = (): ConfState => ({ voters: [], learners: [], addresses: {} });

export function cloneConf(c: ConfState): ConfState {
  return { voters: [...c.voters], learners: [...c.learners], addresses: { ...c.addresses } };
}

/** Fills in the defaults; throws for an inconsistent configuration. */
export function resolveConfig(config: RaftConfig): Resolved {
  const e = config.electionTicks ?? 10;
  const cfg: Resolved = {
    id: config.id,
    storage: config.storage,
    applied: config.applied,
    rand: config.rand,
    electionTicks: e,
    heartbeatTicks: config.heartbeatTicks ?? 1,
    preVote: config.preVote ?? true,
    checkQuorum: config.checkQuorum ?? true,
    maxEntriesPerMsg: config.maxEntriesPerMsg ?? 256,
    maxBytesPerMsg: config.maxBytesPerMsg ?? 1 << 20,
    maxInflight: config.maxInflight ?? 64,
    snapshotChunkBytes: config.snapshotChunkBytes ?? 1 << 20,
    catchUpMargin: config.catchUpMargin ?? 100,
    leaseReads: config.leaseReads ?? false,
    maxClockDrift: config.maxClockDrift ?? 0.1,
    maxApplyBytes: config.maxApplyBytes ?? 4 << 20,
    bootstrap: config.bootstrap,
  };
  if (cfg.heartbeatTicks >= e) throw new Error('heartbeatTicks must be less than electionTicks');
  return cfg;
}
