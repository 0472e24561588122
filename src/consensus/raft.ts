// The Raft core: a pure state machine fed ticks, messages and proposals, returning a Ready.
// It reads the durable log through a LogReader (synchronously), and reads no clock, no global
// randomness and does no I/O: time is ticks, randomness is the injected Rand.
//
// Roles swap behaviour through `stepRole` (etcd-io/raft's step functions): see step-leader.ts,
// step-follower.ts, step-candidate.ts.

import { ConsensusError } from './errors.ts';
import { voterInLease } from './lease.ts';
import { checkMessage } from './message-check.ts';
import { applyConfChange, checkConfChange, hasUnappliedConf } from './membership.ts';
import { cloneConf, emptyConf, resolveConfig, type Mutations, type RaftConfig, type Resolved } from './raft-config.ts';
import { RaftLog } from './log.ts';
import { campaign, handleVoteRequest, tickElection, tickLeader } from './election.ts';
import type { Progress } from './progress.ts';
import { ReadOnly } from './read-only.ts';
import { becomeCandidate, becomeFollower, becomeLeader, becomePreCandidate, leaderGone } from './roles.ts';
import { advanceReady, hasReady, takeReady } from './ready.ts';
import { stepCandidate } from './step-candidate.ts';
import { stepFollower } from './step-follower.ts';
import { maybeCommit, pinnedImages, sendAppend, sendTimeoutNow, serveRead, stepLeader } from './step-leader.ts';
import {
  EntryType,
  MessageType,
  Role,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type SnapshotMeta,
  type SnapshotOp,
  type SoftState,
  type StagedSnapshot,
} from './types.ts';

export type { Mutations, RaftConfig } from './raft-config.ts';
export { cloneConf } from './raft-config.ts';

export class RaftCore {
  readonly id: NodeId;
  readonly cfg: Resolved;
  readonly mut: Mutations;
  readonly log: RaftLog;

  term = 0;
  vote: NodeId | null = null;
  lead: NodeId | null = null;
  role: Role = Role.Follower;
  /** The configuration as of the applied index. */
  conf: ConfState = emptyConf();
  /** Leader: the voters its commit index last advanced under (the configuration as of the
   * applied index at that moment; a configuration change applied later does not change what
   * that commit was decided by). Observability for the simulator's checker. */
  commitVoters: readonly NodeId[] = [];
  /** Leader only: per-member progress (voters and learners, self included). */
  prs = new Map<NodeId, Progress>();
  /** (Pre)candidate: responses received in this campaign. */
  votes = new Map<NodeId, boolean>();
  /** The candidate's own vote counts only once its term and vote are durable: it goes out with
   * the next Ready (Ready.selfVote) and counts at that Ready's advance. */
  selfVotePending = false;
  /** Lowest index truncated since the last Ready (see Ready.withdrawAcksFrom). */
  withdrawAcksFrom: number | undefined;

  /** Ticks since this node last heard from a leader (follower), or since the last check-quorum
   * round (leader). */
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Monotonic tick count since start. */
  ticks = 0;
  /** Tick count when this node last heard from a leader of its term (App, Heartbeat, Snap).
   * With lease reads it starts at 0: a node that (re)starts may have just acknowledged a
   * leader's round (and so confirmed its lease) without remembering it, so it counts as having
   * heard a leader at start. Without leases no read depends on it: -Infinity (votes at once). */
  leaderContactTick: number;

  leadTransferee: NodeId | null = null;
  transferElapsed = 0;
  /** Leader: index of the last configuration entry in its log (0 if none above applied). */
  pendingConfIndex = 0;
  readonly readOnly = new ReadOnly();
  /** Read contexts forwarded to the leader and not yet answered. */
  forwardedReads = new Set<string>();
  /** The chunked snapshot this follower is receiving. */
  staged: StagedSnapshot | undefined;

  msgs: Message[] = [];
  persistedMsgs: Message[] = [];
  /** Messages refused since the driver last looked (takeRefused): a message the core cannot use
   * is ignored, never thrown on. In a cluster of correct nodes this stays empty. */
  private refused: string[] = [];
  readStates: ReadState[] = [];
  snapshotOps: SnapshotOp[] = [];
  /** Proposals were appended: broadcast once when the Ready is built (one batch per Ready). */
  pendingBcast = false;

  /** The hard and soft state last handed out in a Ready (ready.ts compares against them). */
  prevHard: HardState;
  prevSoft: SoftState;

  constructor(config: RaftConfig) {
    this.cfg = resolveConfig(config);
    this.mut = config.mutations ?? {};
    this.id = config.id;
    this.leaderContactTick = this.cfg.leaseReads && !this.mut.grantVoteAfterRestart ? 0 : -Infinity;
    const st = config.storage;
    const hs = st.hardState();
    const snap = st.snapshot();
    if (config.applied < (snap?.index ?? 0)) {
      throw new Error(`applied index ${config.applied} is below the snapshot index ${snap?.index}`);
    }
    this.log = new RaftLog(st, hs.commit, config.applied);
    this.term = hs.term;
    this.vote = hs.vote;
    this.staged = st.staged();
    this.prevHard = { ...hs };
    // Membership: snapshot metadata, then the configuration entries up to the applied index.
    this.conf = snap ? cloneConf(snap.conf) : emptyConf();
    const lo = Math.max((snap?.index ?? 0) + 1, st.firstIndex());
    if (config.applied >= lo) {
      for (const en of st.entries(lo, config.applied + 1, Number.MAX_SAFE_INTEGER)) {
        if (en.change) applyConfChange(this, en.change);
      }
    }
    const empty = st.lastIndex() === 0 && !snap && hs.term === 0;
    if (empty && this.cfg.bootstrap) {
      const addresses = { ...(this.cfg.bootstrap.addresses ?? {}) };
      const change: ConfChange = { type: 'bootstrap', voters: [...this.cfg.bootstrap.voters], addresses };
      this.log.append([{ index: 1, term: 1, type: EntryType.Conf, change }]);
      this.term = 1;
      this.log.commitTo(1);
    }
    this.becomeFollower(this.term, null);
    this.prevSoft = this.softState();
  }

  // ---- inputs -------------------------------------------------------------------------------

  /** Advances logical time by one tick. */
  tick(): void {
    this.ticks++;
    if (this.role === Role.Leader) tickLeader(this);
    else tickElection(this);
  }

  step(m: Message): void {
    const why = m.to !== this.id ? `to: addressed to ${m.to}, this is ${this.id}` : checkMessage(m);
    if (why !== undefined) {
      this.refuse(m, why);
      return;
    }
    if (m.term > this.term) {
      if ((m.type === MessageType.Vote || m.type === MessageType.PreVote) && !m.transfer && voterInLease(this)) {
        return; // lease.ts; a candidate told to campaign by a transfer is exempt
      }
      if (m.type === MessageType.PreVote) {
        // A pre-vote request never changes our term.
      } else if (m.type === MessageType.PreVoteResp && !m.reject) {
        // A granted pre-vote carries term + 1; it does not make the asker step down.
      } else {
        const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, fromLeader ? m.from : null);
      }
    } else if (m.term < this.term) {
      // Answer a stale sender with our term, so that a deposed leader (or a node left behind)
      // learns of it; otherwise a node whose term ran ahead would stay stuck.
      if (m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap) {
        this.send({ type: MessageType.AppResp, to: m.from, term: this.term, reject: true, index: 0 });
      } else if (m.type === MessageType.PreVote) {
        this.send({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true });
      } else if (m.type === MessageType.Vote) {
        this.send({ type: MessageType.VoteResp, to: m.from, term: this.term, reject: true });
      } else if (m.type === MessageType.ReadIndex) {
        this.send({ type: MessageType.ReadIndexResp, to: m.from, term: this.term, reject: true, context: m.context });
      }
      return;
    }
    if (m.type === MessageType.PreVote || m.type === MessageType.Vote) {
      handleVoteRequest(this, m);
      return;
    }
    this.stepRole(m);
  }

  private stepRole(m: Message): void {
    switch (this.role) {
      case Role.Leader:
        return stepLeader(this, m);
      case Role.Candidate:
      case Role.PreCandidate:
        return stepCandidate(this, m);
      case Role.Follower:
        return stepFollower(this, m);
    }
  }

  /** Appends proposals (normal entries). Throws NOT_LEADER or DROPPED. */
  propose(data: Uint8Array[]): { index: number; term: number }[] {
    this.checkCanPropose();
    const out: { index: number; term: number }[] = [];
    let index = this.log.lastIndex();
    const entries: Entry[] = data.map((d) => {
      index++;
      out.push({ index, term: this.term });
      return { index, term: this.term, type: EntryType.Normal, data: d };
    });
    this.appendEntries(entries);
    return out;
  }

  /**
   * Proposes a single-server membership change (guards in membership.ts). Removing the leader
   * starts a leadership transfer instead (TRANSFERRING).
   */
  proposeConfChange(cc: ConfChange): { index: number; term: number } {
    this.checkCanPropose();
    checkConfChange(this, cc);
    const index = this.log.lastIndex() + 1;
    this.appendEntries([{ index, term: this.term, type: EntryType.Conf, change: cc }]);
    this.pendingConfIndex = index;
    return { index, term: this.term };
  }

  checkCanPropose(): void {
    if (this.role !== Role.Leader) throw new ConsensusError('NOT_LEADER', 'not the leader', { leader: this.lead });
    if (this.leadTransferee !== null) {
      throw new ConsensusError('DROPPED', `leadership transfer to ${this.leadTransferee} in progress`, { leader: this.leadTransferee });
    }
  }

  private appendEntries(entries: Entry[]): void {
    this.log.append(entries);
    this.pendingBcast = true;
    if (this.mut.leaderCountsUndurable && this.prs.get(this.id)?.maybeUpdate(this.log.lastIndex())) maybeCommit(this);
  }

  /** Requests a read index for `context`; the answer arrives as a ReadState in a Ready. */
  readIndex(context: string): void {
    if (this.role === Role.Leader) {
      serveRead(this, this.id, context);
    } else if (this.lead !== null && this.role === Role.Follower) {
      this.forwardedReads.add(context);
      this.send({ type: MessageType.ReadIndex, to: this.lead, term: this.term, context });
    } else {
      this.readStates.push({ context, index: 0, error: 'NOT_LEADER', leader: this.lead });
    }
  }

  /** Starts a leadership transfer to `to` (a voter). Throws NOT_LEADER or INVALID. */
  transferLeader(to: NodeId): void {
    if (this.role !== Role.Leader) throw new ConsensusError('NOT_LEADER', 'not the leader', { leader: this.lead });
    if (to === this.id) return;
    if (!this.conf.voters.includes(to)) throw new ConsensusError('INVALID', `${to} is not a voter`);
    if (this.leadTransferee === to) return;
    this.leadTransferee = to;
    this.transferElapsed = 0;
    const pr = this.prs.get(to)!;
    if (pr.match === this.log.lastIndex()) sendTimeoutNow(this, to);
    else sendAppend(this, to, true);
  }

  /** The transport saw `peer`'s connection close (roles.ts: leaderGone). */
  leaderGone(peer: NodeId): void {
    leaderGone(this, peer);
  }

  // ---- roles --------------------------------------------------------------------------------

  promotable(): boolean {
    return this.conf.voters.includes(this.id);
  }

  committedInTerm(): boolean {
    return this.log.term(this.log.committed) === this.term;
  }

  /** Starts an election (after pre-vote unless this is a leadership transfer). */
  hup(transfer: boolean): void {
    if (this.role === Role.Leader) return;
    if (!this.promotable()) return;
    if (hasUnappliedConf(this)) return; // a committed configuration must take effect first
    campaign(this, this.cfg.preVote && !transfer, transfer);
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    becomeFollower(this, term, lead);
  }

  becomePreCandidate(): void {
    becomePreCandidate(this);
  }

  becomeCandidate(): void {
    becomeCandidate(this);
  }

  becomeLeader(): void {
    becomeLeader(this);
  }

  // ---- snapshots ----------------------------------------------------------------------------

  /** Leader: ids of the snapshot images in transfer, which the storage must keep (pinned). */
  pinnedImages(): string[] {
    return this.role === Role.Leader ? pinnedImages(this) : [];
  }

  /** Installs a fully received, verified snapshot (follower). */
  installSnapshot(meta: SnapshotMeta): void {
    const keepTo = this.log.restore(meta, this.mut.keepSuffixByDurableOnly === true);
    this.conf = cloneConf(meta.conf);
    this.snapshotOps.push({ op: 'install', meta, keepTo });
  }

  // ---- refusals -----------------------------------------------------------------------------

  /** Ignores a message the core cannot use, and records why (see takeRefused). */
  refuse(m: Message, why: string): void {
    if (this.refused.length < 100) this.refused.push(`${m.type} from ${m.from} (term ${m.term}) refused: ${why}`);
  }

  /** The refusals recorded since the last call (the driver logs them). */
  takeRefused(): string[] {
    const out = this.refused;
    this.refused = [];
    return out;
  }

  // ---- Ready --------------------------------------------------------------------------------

  send(m: Omit<Message, 'from'>): void {
    this.msgs.push({ ...m, from: this.id } as Message);
  }

  sendPersisted(m: Omit<Message, 'from'>): void {
    this.persistedMsgs.push({ ...m, from: this.id } as Message);
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role, learner: !this.promotable() };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Whether there is anything to do (ready.ts). */
  hasReady(): boolean {
    return hasReady(this);
  }

  /** Everything to do now (see Ready, ready.ts). Readies may be taken again before advance() of
   * earlier ones; each hands out only what earlier ones did not. */
  ready(): Ready {
    return takeReady(this);
  }

  /** The Ready was persisted (durably), its messages sent and its entries applied. Called for
   * Readies in the order they were taken (ready.ts). */
  advance(rd: Ready): void {
    advanceReady(this, rd);
  }

  status(): RaftStatus {
    const progress: Record<NodeId, { match: number; next: number; state: string }> = {};
    for (const [id, pr] of this.prs) progress[id] = { match: pr.match, next: pr.next, state: pr.state };
    return {
      id: this.id,
      term: this.term,
      vote: this.vote,
      role: this.role,
      lead: this.lead,
      commit: this.log.committed,
      applied: this.log.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      conf: cloneConf(this.conf),
      progress,
      leadTransferee: this.leadTransferee,
    };
  }
}

export interface RaftStatus {
  id: NodeId;
  term: number;
  vote: NodeId | null;
  role: Role;
  lead: NodeId | null;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  conf: ConfState;
  progress: Record<NodeId, { match: number; next: number; state: string }>;
  leadTransferee: NodeId | null;
}


