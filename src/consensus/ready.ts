// Ready handling of the Raft core (raft.ts): whether there is work, taking a Ready (each hands
// out only what earlier ones did not: unstable entries once, committed entries once, the hard and
// soft state when they changed), and advancing after a Ready was persisted, sent and applied.
// Readies are advanced in the order they were taken (the driver pipelines them).

import { poll } from './election.ts';
import { applyConfChange } from './membership.ts';
import type { RaftCore } from './raft.ts';
import { bcastAppend, maybeCommit } from './step-leader.ts';
import { Role, type HardState, type Ready, type SnapshotOp } from './types.ts';

/**
 * The install a Ready's snapshot operations end with, if any. One Ready may install two snapshots
 * (two one-chunk snapshots stepped in one batch); storage applies both in order, so the state the
 * Ready leaves is the last one's — the one the state machine must be restored from.
 */
export function lastInstall(ops: readonly SnapshotOp[]): Extract<SnapshotOp, { op: 'install' }> | undefined {
  for (let i = ops.length - 1; i >= 0; i--) {
    const o = ops[i]!;
    if (o.op === 'install') return o;
  }
  return undefined;
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function hasReady(r: RaftCore): boolean {
  const ss = r.softState();
  const hs = r.hardState();
  return (
    r.pendingBcast ||
    ss.lead !== r.prevSoft.lead ||
    ss.role !== r.prevSoft.role ||
    ss.learner !== r.prevSoft.learner ||
    !sameHard(hs, r.prevHard) ||
    r.log.hasUnstable() ||
    r.msgs.length > 0 ||
    r.persistedMsgs.length > 0 ||
    r.readStates.length > 0 ||
    r.snapshotOps.length > 0 ||
    r.log.hasNextCommitted() ||
    r.selfVotePending
  );
}

/** Everything to do now (see Ready). Readies may be taken again before advanceReady() of earlier
 * ones; each hands out only what earlier ones did not. */
export function takeReady(r: RaftCore): Ready {
  if (r.pendingBcast) {
    r.pendingBcast = false;
    if (r.role === Role.Leader) bcastAppend(r, false);
  }
  const rd: Ready = {
    entries: r.log.unstableEntries(),
    snapshotOps: r.snapshotOps,
    messages: r.msgs,
    persistedMessages: r.persistedMsgs,
    committedEntries: r.log.nextCommitted(r.cfg.maxApplyBytes),
    readStates: r.readStates,
  };
  const ss = r.softState();
  if (ss.lead !== r.prevSoft.lead || ss.role !== r.prevSoft.role || ss.learner !== r.prevSoft.learner) {
    rd.softState = ss;
    r.prevSoft = ss;
  }
  const hs = r.hardState();
  if (!sameHard(hs, r.prevHard)) {
    rd.hardState = hs;
    r.prevHard = hs;
  }
  if (r.selfVotePending) {
    r.selfVotePending = false;
    rd.selfVote = { term: r.term, role: r.role };
  }
  if (r.withdrawAcksFrom !== undefined) {
    rd.withdrawAcksFrom = r.withdrawAcksFrom;
    r.withdrawAcksFrom = undefined;
  }
  r.msgs = [];
  r.persistedMsgs = [];
  r.readStates = [];
  r.snapshotOps = [];
  return rd;
}

/** The Ready was persisted (durably), its messages sent and its entries applied. Called for
 * Readies in the order they were taken. */
export function advanceReady(r: RaftCore, rd: Ready): void {
  if (rd.snapshotOps.some((o) => o.op === 'install')) r.log.snapshotPersisted();
  const last = rd.entries[rd.entries.length - 1];
  if (last) r.log.stableTo(last.index, last.term);
  for (const e of rd.committedEntries) {
    r.log.appliedTo(e.index);
    if (e.change) applyConfChange(r, e.change);
  }
  const sv = rd.selfVote;
  if (sv && sv.term === r.term && sv.role === r.role) poll(r, r.id, true);
  if (r.role === Role.Leader) {
    // The leader counts itself toward the quorum only up to its durable index.
    const self = r.prs.get(r.id);
    if (self && self.maybeUpdate(r.log.persistedIndex()) && maybeCommit(r)) bcastAppend(r);
  }
}
