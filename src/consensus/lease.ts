// Leader leases (DESIGN §3, Reads): the leader's half (how long it may serve reads without a
// heartbeat round) and the voters' half (how long they refuse (pre)votes after hearing a leader
// or (re)starting), which must cover it. Only with leaseReads and check-quorum.

import type { RaftCore } from './raft.ts';
import { Role } from './types.ts';

/**
 * The lease, in leader ticks: floor((E - 1) * (1 - d) / (1 + d)), E = electionTicks, d =
 * maxClockDrift (every clock's rate lies within [1 - d, 1 + d] of real time; P = tickMs).
 *
 * Derivation. The lease rests on the round of heartbeats a quorum acknowledged; the leader
 * created that round at its tick count s, so it left at real time >= T_L(s) (the instant of the
 * leader's tick s). A voter that acknowledged it heard it at t_h >= T_L(s) and ignores (pre)votes
 * until its own tick count has advanced by E since then (voterInLease). Its first tick
 * may come an instant after t_h, so it is protected for at least (E - 1) of its tick periods:
 *   until t_h + (E - 1) * P / (1 + d)  >=  T_L(s) + (E - 1) * P / (1 + d)   (fast voter clock).
 * A voter that restarts counts E ticks from its start, which is later still. The leader serves a
 * lease read while its tick count c < s + span: before its tick s + span, i.e.
 *   before T_L(s) + span * P / (1 - d)                                       (slow leader clock).
 * The driver delivers every due tick before stepping anything, so a paused leader resumes with
 * its tick count caught up (c only lags real time by less than one tick, which never lets the
 * leader serve past T_L(s + span)). Safe when span * P / (1 - d) <= (E - 1) * P / (1 + d):
 *   span <= (E - 1) * (1 - d) / (1 + d).   E = 10, d = 0.1: 7 ticks (not floor(E * (1 - d)) = 9).
 * A new leader needs a vote from a quorum, which shares a node with the quorum that confirmed
 * the round: a voter that acknowledged it, or the old leader itself, which grants nothing while
 * it leads (voterInLease). So no new leader is elected, let alone commits, while the old leader
 * still serves from its lease.
 */
export function leaseSpan(r: RaftCore): number {
  const e = r.cfg.electionTicks;
  const d = r.cfg.maxClockDrift;
  return Math.max(0, Math.floor(((e - 1) * (1 - d)) / (1 + d)));
}

export function leaseValid(r: RaftCore): boolean {
  if (!r.cfg.leaseReads || !r.cfg.checkQuorum) return false;
  // A transfer ends the lease: its target campaigns with flagged requests that voters grant
  // inside their lease. Once TimeoutNow has left in this term the lease is gone for the whole
  // term: a late TimeoutNow can start that campaign after the transfer was abandoned.
  if ((r.leadTransferee !== null || r.readOnly.timeoutNowSent) && !r.mut.leaseNotEndedOnTransfer) return false;
  return r.ticks < r.readOnly.leaseStart + leaseSpan(r);
}

/**
 * True while this node must ignore (pre)vote requests that are not flagged as a transfer: it
 * leads, or it heard from a leader (or (re)started, with leases) fewer than electionTicks of its
 * own ticks ago. This is the voters' half of the lease (leaseSpan): counting from the tick AFTER
 * the contact, it lasts at least (electionTicks - 1) full tick periods of the voter's clock.
 * Only with check-quorum (a leader that lost its quorum steps down within the same bound).
 */
export function voterInLease(r: RaftCore): boolean {
  if (!r.cfg.checkQuorum) return false;
  if (r.role === Role.Leader) return true;
  return r.ticks - r.leaderContactTick < r.cfg.electionTicks;
}
