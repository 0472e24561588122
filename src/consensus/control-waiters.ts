// Membership and leadership requests waiting in the driver: learner promotions (proposed once the
// learner has caught up) and leadership transfers (resolved once the target leads). Deadlines are
// in ticks. None of them appended anything while waiting, so ending one is always definite.

import { asConsensusError, ConsensusError } from './errors.ts';
import type { RaftCore } from './raft.ts';
import type { NodeId } from './types.ts';
import type { Committed, Waiters } from './waiters.ts';

interface Promotion {
  node: NodeId;
  deadline: number;
  resolve: (c: Committed) => void;
  reject: (e: ConsensusError) => void;
}

interface Transfer {
  to: NodeId;
  deadline: number;
  resolve: () => void;
  reject: (e: ConsensusError) => void;
}

/** Codes after which a promotion keeps waiting (the learner may still catch up). */
const KEEP_WAITING = new Set(['NOT_CAUGHT_UP', 'CONF_PENDING', 'NOT_READY']);

export class ControlWaiters {
  private promotions: Promotion[] = [];
  private transfers: Transfer[] = [];

  constructor(private readonly waiters: Waiters) {}

  addPromotion(p: Promotion): void {
    this.promotions.push(p);
  }

  addTransfer(t: Transfer): void {
    this.transfers.push(t);
  }

  /** Proposes each waiting promotion the core now accepts; its outcome then waits as a proposal
   * (deadline in ticks). A refusal other than "not yet" ends it. */
  checkPromotions(core: RaftCore, deadline: number): void {
    for (const p of [...this.promotions]) {
      try {
        const { index, term } = core.proposeConfChange({ type: 'promote', node: p.node });
        this.promotions.splice(this.promotions.indexOf(p), 1);
        this.waiters.addProposal(index, { term, deadline, resolve: p.resolve, reject: p.reject });
      } catch (e) {
        const err = asConsensusError(e);
        if (KEEP_WAITING.has(err.code)) continue;
        this.promotions.splice(this.promotions.indexOf(p), 1);
        p.reject(err);
      }
    }
  }

  get waitingPromotions(): number {
    return this.promotions.length;
  }

  /** Ends what passed its deadline (tick count `now`). */
  expire(now: number, leader: NodeId | null): void {
    for (const p of [...this.promotions]) {
      if (now < p.deadline) continue;
      this.promotions.splice(this.promotions.indexOf(p), 1);
      p.reject(new ConsensusError('PROMOTION_TIMEOUT', `${p.node} did not catch up within the allowed election timeouts`));
    }
    for (const t of [...this.transfers]) {
      if (now < t.deadline) continue;
      this.transfers.splice(this.transfers.indexOf(t), 1);
      t.reject(new ConsensusError('TIMEOUT', `leadership did not move to ${t.to}`, { leader }));
    }
  }

  /** This node stopped leading: promotions cannot be proposed here any more. */
  lostLeadership(leader: NodeId | null): void {
    for (const p of this.promotions.splice(0)) p.reject(new ConsensusError('NOT_LEADER', 'leadership lost', { leader }));
  }

  /** `leader` leads now: the transfers to it are done. */
  leaderIs(leader: NodeId | null): void {
    for (const t of [...this.transfers]) {
      if (leader !== t.to) continue;
      this.transfers.splice(this.transfers.indexOf(t), 1);
      t.resolve();
    }
  }

  failAll(err: ConsensusError): void {
    for (const p of this.promotions.splice(0)) p.reject(err);
    for (const t of this.transfers.splice(0)) t.reject(err);
  }
}
