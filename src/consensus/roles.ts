// Role transitions of the Raft core (raft.ts): becoming follower, pre-candidate, candidate or
// leader, with the timers and reads each change ends, and a follower forgetting a leader whose
// connection closed. Pure, like the rest of the core: time is ticks, randomness the injected Rand.

import { Progress } from './progress.ts';
import type { RaftCore } from './raft.ts';
import { bcastAppend } from './step-leader.ts';
import { EntryType, MessageType, Role, type NodeId } from './types.ts';

export function becomeFollower(r: RaftCore, term: number, lead: NodeId | null): void {
  const wasLeader = r.role === Role.Leader;
  if (term !== r.term) {
    r.term = term;
    r.vote = null;
  }
  const leaderChanged = lead !== r.lead;
  r.role = Role.Follower;
  r.lead = lead;
  resetTimers(r);
  if (wasLeader) abandonLeaderReads(r);
  if (leaderChanged) failForwardedReads(r);
  r.prs.clear();
  r.votes.clear();
  r.selfVotePending = false;
}

export function becomePreCandidate(r: RaftCore): void {
  r.role = Role.PreCandidate;
  r.lead = null;
  r.votes.clear();
  failForwardedReads(r);
  resetTimers(r);
}

export function becomeCandidate(r: RaftCore): void {
  r.term++;
  r.vote = r.id;
  r.role = Role.Candidate;
  r.lead = null;
  r.votes.clear();
  failForwardedReads(r);
  resetTimers(r);
}

export function becomeLeader(r: RaftCore): void {
  r.role = Role.Leader;
  r.lead = r.id;
  resetTimers(r);
  r.readOnly.reset();
  r.selfVotePending = false;
  r.prs.clear();
  const last = r.log.lastIndex();
  for (const id of [...r.conf.voters, ...r.conf.learners]) {
    const pr = new Progress(id, last + 1, r.cfg.maxInflight);
    pr.recentActive = true;
    if (id === r.id) pr.match = r.log.persistedIndex();
    r.prs.set(id, pr);
  }
  // Configuration entries inherited above the applied index block further changes.
  r.pendingConfIndex = 0;
  const above = r.log.slice(r.log.applied + 1, last + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER) ?? [];
  for (const e of above) if (e.type === EntryType.Conf) r.pendingConfIndex = e.index;
  // A new leader appends an empty entry of its term at once: entries of earlier terms commit
  // only with it.
  r.log.append([{ index: last + 1, term: r.term, type: EntryType.Normal }]);
  bcastAppend(r);
}

function resetTimers(r: RaftCore): void {
  r.electionElapsed = 0;
  r.heartbeatElapsed = 0;
  r.randomizedElectionTimeout = r.cfg.electionTicks + r.cfg.rand.int(r.cfg.electionTicks);
  r.leadTransferee = null;
  r.transferElapsed = 0;
}

/** A leader that steps down answers every read it holds DROPPED (its own) or rejected (forwarded). */
function abandonLeaderReads(r: RaftCore): void {
  const all = [...r.readOnly.waiting, ...r.readOnly.pending];
  for (const w of all) {
    if (w.from === r.id) r.readStates.push({ context: w.context, index: 0, error: 'DROPPED', leader: r.lead });
    else r.send({ type: MessageType.ReadIndexResp, to: w.from, term: r.term, reject: true, context: w.context });
  }
  r.readOnly.reset();
}

/** Reads forwarded to a leader that is no longer ours end DROPPED. */
function failForwardedReads(r: RaftCore): void {
  for (const context of r.forwardedReads) r.readStates.push({ context, index: 0, error: 'DROPPED', leader: r.lead });
  r.forwardedReads.clear();
}

/**
 * The transport saw `peer`'s connection close: its process stopped or crashed (or its stream is
 * being reopened). If `peer` is this follower's leader, forget it: answer (pre)votes at once and
 * campaign soon instead of after a whole election timeout. The surviving voters take turns by
 * their order of ids (this node's rank among the voters other than `peer`): the first campaigns
 * after 1–2 ticks, the next a slot of electionTicks / (voters - 1) ticks later, and so on — had
 * they all campaigned at random within a short window, their pre-votes would cross and split the
 * vote (each then waits a whole randomized timeout). A leader that is in fact alive wins the
 * follower back with its next heartbeat, and the voters still hearing it refuse the pre-votes.
 * Safety never depends on when an election starts; but with lease reads this node may have
 * confirmed the round a lease rests on (lease.ts), so then it waits out the timeout as before.
 */
export function leaderGone(r: RaftCore, peer: NodeId): void {
  if (r.cfg.leaseReads || r.role !== Role.Follower || r.lead !== peer) return;
  r.becomeFollower(r.term, null);
  r.leaderContactTick = -Infinity;
  const others = r.conf.voters.filter((v) => v !== peer).sort();
  const rank = Math.max(0, others.indexOf(r.id));
  const slot = Math.max(2, Math.floor(r.cfg.electionTicks / Math.max(1, others.length)));
  const wait = 1 + rank * slot + r.cfg.rand.int(slot >> 1); // ticks until this node campaigns
  r.electionElapsed = Math.max(0, r.randomizedElectionTimeout - wait);
}
