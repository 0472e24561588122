// The follower's behaviour: appends (with the commit clamp), heartbeats, chunked snapshot
// reception, TimeoutNow, and answers to forwarded reads.

import { crc32 } from './crc32.ts';
import type { RaftCore } from './raft.ts';
import { MessageType, type Message } from './types.ts';

export function stepFollower(r: RaftCore, m: Message): void {
  switch (m.type) {
    case MessageType.App:
      heardFromLeader(r, m);
      handleAppend(r, m);
      return;
    case MessageType.Heartbeat:
      heardFromLeader(r, m);
      // The leader clamps the commit to our match, so every entry up to it matches the leader.
      r.log.commitTo(Math.min(m.commit ?? 0, r.log.lastIndex()));
      r.send({ type: MessageType.HeartbeatResp, to: m.from, term: r.term, seq: m.seq });
      return;
    case MessageType.Snap:
      heardFromLeader(r, m);
      handleSnapChunk(r, m);
      return;
    case MessageType.TimeoutNow:
      // Leadership transfer: campaign at once, skipping pre-vote, with flagged vote requests.
      r.hup(true);
      return;
    case MessageType.ReadIndex:
      r.send({ type: MessageType.ReadIndexResp, to: m.from, term: r.term, reject: true, context: m.context });
      return;
    case MessageType.ReadIndexResp: {
      const ctx = m.context ?? '';
      if (!r.forwardedReads.delete(ctx)) return;
      if (m.reject) r.readStates.push({ context: ctx, index: 0, error: 'NOT_LEADER', leader: r.lead });
      else r.readStates.push({ context: ctx, index: m.index ?? 0 });
      return;
    }
    default:
      return;
  }
}

function heardFromLeader(r: RaftCore, m: Message): void {
  r.electionElapsed = 0;
  r.leaderContactTick = r.ticks;
  if (r.lead !== m.from) r.becomeFollower(m.term, m.from);
}

function handleAppend(r: RaftCore, m: Message): void {
  const prev = m.index ?? 0;
  if (prev < r.log.committed) {
    r.sendPersisted({ type: MessageType.AppResp, to: m.from, term: r.term, index: r.log.committed });
    return;
  }
  if (r.log.matchTerm(prev, m.logTerm ?? 0)) {
    const entries = m.entries ?? [];
    const conflict = r.log.findConflict(entries);
    if (conflict > 0 && conflict <= r.log.committed) {
      // Only a confused peer sends this (a leader's log holds every committed entry).
      r.refuse(m, `entries: conflict at committed index ${conflict} (commit ${r.log.committed})`);
      return;
    }
    const truncatedFrom = r.log.maybeAppend(entries);
    if (truncatedFrom > 0 && !r.mut.noAckWithdrawalOnTruncate) withdrawAcks(r, truncatedFrom);
    const lastNew = prev + entries.length;
    // Commit only up to the last entry just matched: beyond it our log may still differ.
    r.log.commitTo(Math.min(m.commit ?? 0, r.mut.followerCommitToLastIndex ? r.log.lastIndex() : lastNew));
    r.sendPersisted({ type: MessageType.AppResp, to: m.from, term: r.term, index: lastNew });
    return;
  }
  // Hint: the largest index <= prev whose term is <= the leader's term at prev.
  let hint = Math.min(prev, r.log.lastIndex());
  for (;;) {
    const t = r.log.term(hint);
    if (t === undefined || t <= (m.logTerm ?? 0) || hint <= r.log.committed) break;
    hint--;
  }
  r.sendPersisted({
    type: MessageType.AppResp,
    to: m.from,
    term: r.term,
    reject: true,
    index: prev,
    rejectHint: hint,
    conflictTerm: r.log.term(hint) ?? 0,
  });
}

/**
 * One InstallSnapshot chunk. Chunks are staged durably in order; an offset is acknowledged only
 * in persistedMessages (after the chunk is durable). Offset 0 of another snapshot starts over;
 * a chunk of another snapshot at offset > 0, or a bad size/checksum at the end, discards the
 * staged image and asks for a restart at 0. A duplicate or out-of-order chunk of the snapshot
 * being staged is answered with the staged offset, where the leader resumes.
 */
function handleSnapChunk(r: RaftCore, m: Message): void {
  const c = m.snap!;
  const meta = c.meta;
  if (meta.index <= r.log.committed) {
    // Nothing to install: we already hold everything up to our commit index.
    r.sendPersisted({ type: MessageType.SnapResp, to: m.from, term: r.term, snapId: meta.id, done: true, index: r.log.committed });
    return;
  }
  if (c.offset === 0 && r.staged?.meta.id !== meta.id) {
    discardStaged(r);
    r.staged = { meta, offset: 0, crc: 0 };
  } else if (!r.staged || r.staged.meta.id !== meta.id) {
    discardStaged(r);
    r.sendPersisted({ type: MessageType.SnapResp, to: m.from, term: r.term, snapId: meta.id, reject: true, offset: 0 });
    return;
  }
  const s = r.staged;
  if (c.offset !== s.offset) {
    // A duplicate or a gap: tell the leader where to resume.
    r.sendPersisted({ type: MessageType.SnapResp, to: m.from, term: r.term, snapId: meta.id, offset: s.offset });
    return;
  }
  const crc = crc32(c.data, s.crc);
  const offset = s.offset + c.data.length;
  r.snapshotOps.push({ op: 'stage', meta, offset: s.offset, data: c.data, crc });
  r.staged = { meta, offset, crc };
  if (!c.done) {
    r.sendPersisted({ type: MessageType.SnapResp, to: m.from, term: r.term, snapId: meta.id, offset });
    return;
  }
  if (offset !== meta.size || crc !== meta.checksum) {
    discardStaged(r);
    r.sendPersisted({ type: MessageType.SnapResp, to: m.from, term: r.term, snapId: meta.id, reject: true, offset: 0 });
    return;
  }
  r.staged = undefined;
  if (r.log.term(meta.index) !== meta.term) withdrawAcks(r, 0); // the whole log is replaced
  r.installSnapshot(meta);
  r.sendPersisted({ type: MessageType.SnapResp, to: m.from, term: r.term, snapId: meta.id, done: true, index: meta.index });
}

/**
 * Withdraws append acknowledgements of indexes >= `from` that have not left yet: an earlier
 * message in this batch was acknowledged, then a later one truncated those entries, so after
 * this Ready is persisted the acknowledgement would claim entries this node no longer holds
 * (and a deposed leader could count it toward a commit).
 */
function withdrawAcks(r: RaftCore, from: number): void {
  r.persistedMsgs = r.persistedMsgs.filter((x) => !(x.type === MessageType.AppResp && !x.reject && (x.index ?? 0) >= from));
  // Readies taken earlier whose writes are still in flight hold acknowledgements too.
  r.withdrawAcksFrom = Math.min(r.withdrawAcksFrom ?? from, from);
}

/** Discards the staged image, and withdraws acknowledgements of it that have not left yet: they
 * would claim bytes that are no longer staged once this Ready is persisted. */
function discardStaged(r: RaftCore): void {
  const old = r.staged;
  if (!old) return;
  r.snapshotOps.push({ op: 'discard' });
  r.staged = undefined;
  r.persistedMsgs = r.persistedMsgs.filter((x) => !(x.type === MessageType.SnapResp && x.snapId === old.meta.id && !x.done));
}
