// Membership (DESIGN §3): single-server changes with their guards, taking effect when applied.
// Functions of the core, as step-leader.ts and friends.

import { ConsensusError } from './errors.ts';
import { Progress } from './progress.ts';
import type { RaftCore } from './raft.ts';
import { bcastAppend, maybeCommit } from './step-leader.ts';
import { EntryType, Role, type ConfChange, type NodeId } from './types.ts';

/**
 * Guards for a change proposed by the leader: it has committed an entry of its term; no
 * configuration entry lies above the applied index (inherited ones included); the change fits
 * the configuration; a promoted learner has acknowledged entries and is within the catch-up
 * margin of the last index. Removing the leader starts a transfer and throws TRANSFERRING.
 */
export function checkConfChange(r: RaftCore, cc: ConfChange): void {
  if (!r.mut.confChangeBeforeTermCommit && !r.committedInTerm()) {
    throw new ConsensusError('NOT_READY', 'the leader has not yet committed an entry of its term');
  }
  if (r.pendingConfIndex > r.log.applied) {
    throw new ConsensusError('CONF_PENDING', `configuration entry ${r.pendingConfIndex} is not applied yet`);
  }
  const isVoter = (n: NodeId) => r.conf.voters.includes(n);
  const isLearner = (n: NodeId) => r.conf.learners.includes(n);
  switch (cc.type) {
    case 'bootstrap':
      throw new ConsensusError('INVALID', 'bootstrap is not a runtime change');
    case 'addLearner':
      if (isVoter(cc.node) || isLearner(cc.node)) throw new ConsensusError('INVALID', `${cc.node} is already a member`);
      break;
    case 'promote': {
      if (!isLearner(cc.node)) throw new ConsensusError('INVALID', `${cc.node} is not a learner`);
      const pr = r.prs.get(cc.node);
      const match = pr?.match ?? 0;
      // match 0: the learner never acknowledged anything (a short log is no proof it is alive).
      if (match === 0 || match + r.cfg.catchUpMargin < r.log.lastIndex()) {
        throw new ConsensusError('NOT_CAUGHT_UP', `${cc.node} matched ${match}, leader's last index ${r.log.lastIndex()}`);
      }
      break;
    }
    case 'remove':
      if (!isVoter(cc.node) && !isLearner(cc.node)) throw new ConsensusError('INVALID', `${cc.node} is not a member`);
      if (isVoter(cc.node) && r.conf.voters.length === 1) throw new ConsensusError('INVALID', 'cannot remove the only voter');
      if (cc.node === r.id) {
        const target = bestTransferTarget(r);
        if (target === null) throw new ConsensusError('INVALID', 'no other voter to transfer leadership to');
        r.transferLeader(target);
        throw new ConsensusError('TRANSFERRING', `removing the leader: leadership moves to ${target} first`, { leader: target });
      }
      break;
  }
}

/** The voter (other than the leader) with the highest match, or null. */
export function bestTransferTarget(r: RaftCore): NodeId | null {
  let best: NodeId | null = null;
  let bestMatch = -1;
  for (const v of r.conf.voters) {
    if (v === r.id) continue;
    const m = r.prs.get(v)?.match ?? 0;
    if (m > bestMatch) {
      best = v;
      bestMatch = m;
    }
  }
  return best;
}

/** A committed but unapplied configuration entry exists (such a node does not campaign). */
export function hasUnappliedConf(r: RaftCore): boolean {
  if (r.log.committed <= r.log.applied) return false;
  const ents = r.log.slice(r.log.applied + 1, r.log.committed + 1, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  return (ents ?? []).some((e) => e.type === EntryType.Conf);
}

/** A configuration entry takes effect when applied. */
export function applyConfChange(r: RaftCore, cc: ConfChange): void {
  const c = r.conf;
  switch (cc.type) {
    case 'bootstrap':
      r.conf = { voters: [...cc.voters], learners: [], addresses: { ...cc.addresses } };
      break;
    // The voter and learner lists are replaced, never changed in place: a list handed out
    // earlier (RaftCore.commitVoters, the voters a commit was decided by) stays what it was.
    case 'addLearner':
      if (!c.voters.includes(cc.node) && !c.learners.includes(cc.node)) c.learners = [...c.learners, cc.node];
      if (cc.address !== undefined) c.addresses[cc.node] = cc.address;
      break;
    case 'promote':
      if (c.learners.includes(cc.node)) {
        c.learners = c.learners.filter((n) => n !== cc.node);
        c.voters = [...c.voters, cc.node];
      }
      break;
    case 'remove':
      c.voters = c.voters.filter((n) => n !== cc.node);
      c.learners = c.learners.filter((n) => n !== cc.node);
      delete c.addresses[cc.node];
      break;
  }
  onConfChanged(r);
}

/** After a change: the leader tracks exactly the members, a removed leader steps down, the
 * quorum may have moved; a (pre)candidate no longer a voter stops campaigning. */
function onConfChanged(r: RaftCore): void {
  if (r.role === Role.Leader) {
    const members = new Set([...r.conf.voters, ...r.conf.learners]);
    for (const id of [...r.prs.keys()]) if (!members.has(id)) r.prs.delete(id);
    for (const id of members) {
      if (!r.prs.has(id)) {
        const pr = new Progress(id, r.log.lastIndex() + 1, r.cfg.maxInflight);
        pr.recentActive = true;
        r.prs.set(id, pr);
      }
    }
    if (!r.promotable()) {
      r.becomeFollower(r.term, null); // a removed leader steps down
      return;
    }
    if (r.leadTransferee !== null && !r.conf.voters.includes(r.leadTransferee)) r.leadTransferee = null;
    if (maybeCommit(r)) bcastAppend(r);
  } else if ((r.role === Role.Candidate || r.role === Role.PreCandidate) && !r.promotable()) {
    r.becomeFollower(r.term, null);
  }
}
