// Elections and the core's ticks (raft.ts): answering (pre)vote requests, campaigning, counting
// votes, and what a tick does to a follower or candidate (campaign on timeout) and to a leader
// (check-quorum, heartbeats). Pure, like the rest of the core: time is ticks.

import { abandonStalledSnapshots, bcastHeartbeat } from './step-leader.ts';
import { quorumSize, voteResult, VoteResult } from './quorum.ts';
import type { RaftCore } from './raft.ts';
import { MessageType, Role, type Message, type NodeId } from './types.ts';

/** Answers a (pre)vote request: granted to an up-to-date candidate this node may vote for (a vote
 * only once durable: persistedMsgs); otherwise refused with this node's term. */
export function handleVoteRequest(r: RaftCore, m: Message): void {
  const pre = m.type === MessageType.PreVote;
  const respType = pre ? MessageType.PreVoteResp : MessageType.VoteResp;
  const canVote =
    r.vote === m.from || (r.vote === null && r.lead === null) || (pre && m.term > r.term);
  if (canVote && r.log.isUpToDate(m.index ?? 0, m.logTerm ?? 0)) {
    const resp: Message = { type: respType, from: r.id, to: m.from, term: m.term, reject: false };
    if (pre) {
      r.msgs.push(resp);
    } else {
      r.electionElapsed = 0;
      r.vote = m.from;
      // The vote must be durable before the answer leaves.
      (r.mut.voteBeforePersist ? r.msgs : r.persistedMsgs).push(resp);
    }
  } else {
    r.msgs.push({ type: respType, from: r.id, to: m.from, term: r.term, reject: true });
  }
}

/** A follower's or candidate's tick: campaigns once its randomized election timeout passed. */
export function tickElection(r: RaftCore): void {
  r.electionElapsed++;
  if (r.promotable() && r.electionElapsed >= r.randomizedElectionTimeout) {
    r.electionElapsed = 0;
    r.hup(false);
  }
}

/** A leader's tick: abandons a stale transfer, steps down without an active quorum (check-quorum),
 * abandons stalled snapshot transfers, sends heartbeats. */
export function tickLeader(r: RaftCore): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.leadTransferee !== null && ++r.transferElapsed >= r.cfg.electionTicks) {
    r.leadTransferee = null; // a transfer not finished within an election timeout is abandoned
  }
  if (r.electionElapsed >= r.cfg.electionTicks) {
    r.electionElapsed = 0;
    if (r.cfg.checkQuorum) {
      if (!quorumActive(r)) {
        r.becomeFollower(r.term, null);
        return;
      }
      for (const pr of r.prs.values()) if (pr.id !== r.id) pr.recentActive = false;
    }
  }
  abandonStalledSnapshots(r);
  if (r.heartbeatElapsed >= r.cfg.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    bcastHeartbeat(r);
  }
}

function quorumActive(r: RaftCore): boolean {
  let active = 0;
  for (const v of r.conf.voters) {
    if (v === r.id || r.prs.get(v)?.recentActive) active++;
  }
  return active >= quorumSize(r.conf.voters.length);
}

/** Becomes a (pre)candidate and asks every voter; its own vote counts once durable (Ready.selfVote). */
export function campaign(r: RaftCore, pre: boolean, transfer = false): void {
  if (pre) r.becomePreCandidate();
  else r.becomeCandidate();
  const voteTerm = pre ? r.term + 1 : r.term;
  r.selfVotePending = true;
  for (const v of r.conf.voters) {
    if (v === r.id) continue;
    const m: Message = {
      type: pre ? MessageType.PreVote : MessageType.Vote,
      from: r.id,
      to: v,
      term: voteTerm,
      index: r.log.lastIndex(),
      logTerm: r.log.lastTerm(),
    };
    if (transfer) m.transfer = true;
    // A vote request goes out only once the candidate's own term and vote are durable.
    (pre ? r.msgs : r.persistedMsgs).push(m);
  }
}

/** Records a (pre)vote response and acts on the result. */
export function poll(r: RaftCore, from: NodeId, granted: boolean): void {
  if (!r.votes.has(from)) r.votes.set(from, granted);
  const result = voteResult(r.conf.voters, r.votes);
  if (result === VoteResult.Won) {
    if (r.role === Role.PreCandidate) campaign(r, false);
    else r.becomeLeader();
  } else if (result === VoteResult.Lost) {
    r.becomeFollower(r.term, null);
  }
}
