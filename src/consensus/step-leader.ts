// The leader's behaviour: replication (probe / replicate / snapshot), commit by the quorum's match
// index, heartbeats with clamped commit, ReadIndex confirmation, leadership transfer.

import { leaseValid } from './lease.ts';
import { committedIndex } from './quorum.ts';
import { ProgressState, type Progress } from './progress.ts';
import type { RaftCore } from './raft.ts';
import { MessageType, type Message, type NodeId, type SnapshotMeta } from './types.ts';

export function stepLeader(r: RaftCore, m: Message): void {
  const pr = r.prs.get(m.from);
  switch (m.type) {
    case MessageType.ReadIndex:
      if (!pr) return;
      serveRead(r, m.from, m.context ?? '');
      return;
    case MessageType.AppResp:
      if (!pr) return;
      pr.recentActive = true;
      handleAppResp(r, pr, m);
      return;
    case MessageType.HeartbeatResp:
      if (!pr) return;
      pr.recentActive = true;
      pr.probeSent = false;
      // The follower is alive: if the window is full of appends that were lost (it was down),
      // free one slot so an append goes out; its rejection sends us back to probing.
      if (pr.state === ProgressState.Replicate && pr.isPaused()) pr.inflights.shift();
      if (pr.state === ProgressState.Snapshot) maybeResendChunk(r, pr);
      else if (pr.match < r.log.lastIndex()) sendAppend(r, m.from, true);
      if (m.seq !== undefined && r.conf.voters.includes(m.from)) {
        for (const read of r.readOnly.ack(m.from, m.seq, r.id, r.conf.voters)) answerRead(r, read.from, read.context, read.index, false);
      }
      return;
    case MessageType.SnapResp:
      if (!pr) return;
      pr.recentActive = true;
      handleSnapResp(r, pr, m);
      return;
    default:
      return; // at most one leader per term: no other leader traffic can arrive at this term
  }
}

function handleAppResp(r: RaftCore, pr: Progress, m: Message): void {
  if (m.reject) {
    // Fast back-tracking: the follower's hint is the largest index <= the probe whose term is <=
    // the probe's term; skip every index of ours whose term is above the follower's there.
    let probe = m.rejectHint ?? 0;
    if ((m.conflictTerm ?? 0) > 0) probe = findConflictByTerm(r, probe, m.conflictTerm!);
    if (pr.maybeDecrTo(m.index ?? 0, probe)) {
      if (pr.state === ProgressState.Replicate) pr.becomeProbe();
      sendAppend(r, m.from, true);
    }
    return;
  }
  const wasPaused = pr.isPaused();
  const index = m.index ?? 0;
  if (index > r.log.lastIndex()) {
    r.refuse(m, `index: acknowledges ${index} beyond the leader's last index ${r.log.lastIndex()}`);
    return;
  }
  if (!pr.maybeUpdate(index)) {
    if (pr.state === ProgressState.Replicate) pr.freeInflightsTo(index);
    return;
  }
  if (pr.state === ProgressState.Probe) pr.becomeReplicate();
  else if (pr.state === ProgressState.Snapshot && pr.match >= pr.snapshot!.meta.index) pr.becomeProbe();
  else if (pr.state === ProgressState.Replicate) pr.freeInflightsTo(index);
  if (maybeCommit(r)) bcastAppend(r);
  else if (wasPaused) sendAppend(r, m.from, true);
  while (sendAppend(r, m.from, false)) {
    // keep the window full
  }
  if (m.from === r.leadTransferee && pr.match === r.log.lastIndex()) sendTimeoutNow(r, m.from);
}

/** The largest index <= `index` whose term is <= `term` (0 when compacted below). */
export function findConflictByTerm(r: RaftCore, index: number, term: number): number {
  let i = Math.min(index, r.log.lastIndex());
  for (;;) {
    const t = r.log.term(i);
    if (t === undefined || t <= term || i === 0) return t === undefined ? Math.max(0, i) : i;
    i--;
  }
}

/**
 * Commits the highest index a majority of voters has matched, if it is of the current term
 * (entries of earlier terms commit only together with one of this term). Returns true if commit
 * advanced.
 */
export function maybeCommit(r: RaftCore): boolean {
  const mci = committedIndex(r.mut.learnersCountInQuorum ? [...r.conf.voters, ...r.conf.learners] : r.conf.voters, (id) => r.prs.get(id)?.match ?? 0);
  if (mci <= r.log.committed) return false;
  if (r.log.term(mci) !== r.term && !r.mut.commitPrevTermByCount) return false;
  r.log.commitTo(mci);
  r.commitVoters = r.conf.voters;
  if (r.committedInTerm() && r.readOnly.waiting.length > 0) {
    const waiting = r.readOnly.waiting;
    r.readOnly.waiting = [];
    for (const w of waiting) serveRead(r, w.from, w.context);
  }
  return true;
}

/**
 * Sends the next append to `to` unless its progress is paused. Falls back to a snapshot when the
 * entries it needs were compacted. With sendIfEmpty false, sends only if there are new entries.
 * Returns true if a message was sent.
 */
export function sendAppend(r: RaftCore, to: NodeId, sendIfEmpty: boolean): boolean {
  const pr = r.prs.get(to);
  if (!pr || to === r.id || pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  const ents = r.log.slice(pr.next, r.log.lastIndex() + 1, r.cfg.maxEntriesPerMsg, r.cfg.maxBytesPerMsg);
  if (prevTerm === undefined || ents === undefined) return sendSnapshot(r, pr);
  if (ents.length === 0 && !sendIfEmpty) return false;
  r.send({ type: MessageType.App, to, term: r.term, index: prevIndex, logTerm: prevTerm, entries: ents, commit: r.log.committed });
  if (ents.length > 0) pr.sentEntries(ents[ents.length - 1]!.index);
  else if (pr.state === ProgressState.Probe) pr.probeSent = true;
  return true;
}

export function bcastAppend(r: RaftCore, sendIfEmpty = true): void {
  for (const id of r.prs.keys()) if (id !== r.id) sendAppend(r, id, sendIfEmpty);
}

/** One heartbeat round (seq) to every member; the commit is clamped to each follower's match. */
export function bcastHeartbeat(r: RaftCore): number {
  const seq = r.readOnly.nextRound(r.ticks);
  for (const [id, pr] of r.prs) {
    if (id === r.id) continue;
    const commit = r.mut.skipHeartbeatCommitClamp ? r.log.committed : Math.min(r.log.committed, pr.match);
    r.send({ type: MessageType.Heartbeat, to: id, term: r.term, commit, seq });
  }
  return seq;
}

export function sendTimeoutNow(r: RaftCore, to: NodeId): void {
  r.readOnly.timeoutNowSent = true; // no lease read in this term any more (leaseValid)
  r.send({ type: MessageType.TimeoutNow, to, term: r.term });
}

// ---- snapshots ------------------------------------------------------------------------------

function sendSnapshot(r: RaftCore, pr: Progress): boolean {
  const snap = r.log.storage.snapshot();
  if (!snap) return false;
  if (pr.state !== ProgressState.Snapshot || pr.snapshot!.meta.id !== snap.id) {
    pr.becomeSnapshot({ meta: snap, acked: 0, sentAt: r.ticks, progressAt: r.ticks });
  }
  return sendChunk(r, pr);
}

/** Sends the chunk at the acknowledged offset; if that image is gone, restarts with the newest. */
function sendChunk(r: RaftCore, pr: Progress): boolean {
  let t = pr.snapshot!;
  let len = Math.min(r.cfg.snapshotChunkBytes, t.meta.size - t.acked);
  let data = r.log.storage.readSnapshotChunk(t.meta.id, t.acked, len);
  if (!data) {
    const snap = r.log.storage.snapshot();
    if (!snap || snap.id === t.meta.id) return false;
    pr.becomeSnapshot({ meta: snap, acked: 0, sentAt: r.ticks, progressAt: r.ticks });
    t = pr.snapshot!;
    len = Math.min(r.cfg.snapshotChunkBytes, snap.size);
    data = r.log.storage.readSnapshotChunk(snap.id, 0, len);
    if (!data) return false;
  }
  t.sentAt = r.ticks;
  const meta: SnapshotMeta = t.meta;
  r.send({
    type: MessageType.Snap,
    to: pr.id,
    term: r.term,
    snap: { meta, offset: t.acked, done: t.acked + data.length >= meta.size, data },
  });
  return true;
}

/** A transfer without progress for this many election timeouts is abandoned (its image unpinned). */
export const SNAPSHOT_STALL_ELECTIONS = 5;

/** The ids of the images being sent (kept by the storage until their transfers end). */
export function pinnedImages(r: RaftCore): string[] {
  const ids: string[] = [];
  for (const pr of r.prs.values()) if (pr.state === ProgressState.Snapshot && pr.snapshot) ids.push(pr.snapshot.meta.id);
  return ids;
}

/** On each leader tick: abandons transfers that made no progress for SNAPSHOT_STALL_ELECTIONS
 * election timeouts (a follower down or cut off), so no image stays pinned for ever. */
export function abandonStalledSnapshots(r: RaftCore): void {
  const limit = SNAPSHOT_STALL_ELECTIONS * r.cfg.electionTicks;
  for (const pr of r.prs.values()) {
    if (pr.state === ProgressState.Snapshot && pr.snapshot && r.ticks - pr.snapshot.progressAt >= limit) pr.abandonSnapshot();
  }
}

/** A chunk not acknowledged for half an election timeout is sent again (it may have been lost). */
function maybeResendChunk(r: RaftCore, pr: Progress): void {
  if (r.ticks - pr.snapshot!.sentAt >= Math.max(2, r.cfg.electionTicks >> 1)) sendChunk(r, pr);
}

function handleSnapResp(r: RaftCore, pr: Progress, m: Message): void {
  if (m.done) {
    if ((m.index ?? 0) > r.log.lastIndex()) {
      r.refuse(m, `index: ${m.index} beyond the leader's last index ${r.log.lastIndex()}`);
      return;
    }
    // Installed (index = snapshot index) or ignored (index = the follower's commit): either way
    // the follower's log matches ours up to m.index.
    pr.maybeUpdate(m.index ?? 0);
    if (pr.state === ProgressState.Snapshot) {
      pr.becomeProbe();
      pr.next = pr.match + 1;
    }
    if (maybeCommit(r)) bcastAppend(r);
    sendAppend(r, pr.id, true);
    return;
  }
  if (pr.state !== ProgressState.Snapshot) return;
  const t = pr.snapshot!;
  if (m.snapId !== t.meta.id) return;
  if (m.reject) {
    t.acked = 0; // mismatch on the follower: restart the transfer at offset 0
    sendChunk(r, pr);
  } else if (m.offset !== undefined && m.offset !== t.acked) {
    if (m.offset > t.acked) t.progressAt = r.ticks;
    t.acked = Math.min(m.offset, t.meta.size); // resume from what the follower holds durably
    sendChunk(r, pr);
  }
}

// ---- reads ----------------------------------------------------------------------------------

/** Handles a read-index request from `from` (self or a follower). */
export function serveRead(r: RaftCore, from: NodeId, context: string): void {
  if (!r.committedInTerm() && !r.mut.readIndexBeforeNoop) {
    r.readOnly.waiting.push({ from, context }); // served once the empty entry of this term commits
    return;
  }
  const index = r.log.committed;
  if (r.conf.voters.length === 1 && r.conf.voters[0] === r.id) {
    answerRead(r, from, context, index, false);
    return;
  }
  if (leaseValid(r) || r.mut.readIndexWithoutRound) {
    answerRead(r, from, context, index, !r.mut.readIndexWithoutRound);
    return;
  }
  const seq = bcastHeartbeat(r) - (r.mut.readConfirmedByEarlierRound ? 1 : 0);
  r.readOnly.pending.push({ from, context, index, seq });
}

function answerRead(r: RaftCore, to: NodeId, context: string, index: number, lease: boolean): void {
  if (to === r.id) r.readStates.push({ context, index, lease });
  else r.send({ type: MessageType.ReadIndexResp, to, term: r.term, context, index });
}
