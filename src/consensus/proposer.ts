// Proposals from any node: propose here when leading, else forward to the leader, then wait until
// THIS node has applied the entry (read-your-writes). Retries reuse the same bytes — with the
// same request id inside, which the state machine applies once — so a retry after an uncertain
// attempt is safe. The forwarding itself is injected (HTTP in the server, the simulated network
// in the simulator), so the simulator runs this same code.
//
// The outcome rule: once any attempt may have been appended, every later failure is UNKNOWN —
// never a definite failure (NOT_LEADER, SHUTTING_DOWN, INVALID, ...) for a write that may commit.

import { ConsensusError, type ConsensusErrorCode } from './errors.ts';
import type { Committed } from './waiters.ts';
import type { Timer } from './timer.ts';
import type { NodeId } from './types.ts';

/** The few methods of the driver (RaftNode) a proposer uses. */
export interface ProposerRaft {
  readonly core: { readonly role: string; readonly lead: NodeId | null };
  propose(data: Uint8Array, timeoutMs: number): Promise<Committed>;
  waitApplied(index: number, term: number, timeoutMs: number): Promise<Committed>;
}

/**
 * Hands `data` to `leader` to propose; resolves with where it was appended. Rejects with a
 * ConsensusError: the leader's own answer (its codes keep their meaning: NOT_LEADER, DROPPED,
 * SHUTTING_DOWN, INVALID... were never appended; UNKNOWN and TIMEOUT may have been), NOT_LEADER
 * when nothing was sent (connection refused, no address), UNKNOWN when the request may have
 * reached the leader but its answer was lost. Any other exception counts as UNKNOWN.
 */
export type ForwardFn = (leader: NodeId, data: Uint8Array, timeoutMs: number) => Promise<{ index: number; term: number }>;

export interface ProposerOptions {
  raft: ProposerRaft;
  forward: ForwardFn;
  timer: Timer;
  /** Pause between attempts, ms. */
  retryMs: number;
  /** Observes each attempt (the simulator counts forwarded proposals and retries). */
  onAttempt?: (kind: 'local' | 'forward', attempt: number) => void;
}

/** Codes after which another attempt may succeed. */
const RETRY: ReadonlySet<ConsensusErrorCode> = new Set(['NOT_LEADER', 'DROPPED', 'SUPERSEDED', 'UNKNOWN', 'TIMEOUT']);

export class Proposer {
  constructor(private readonly o: ProposerOptions) {}

  /** Commits `data` through the leader and waits until this node applied it. Rejects with a
   * ConsensusError; UNKNOWN whenever an attempt may have been appended (see the file comment). */
  async propose(data: Uint8Array, timeoutMs: number): Promise<Committed> {
    const { raft, timer } = this.o;
    const deadline = timer.now() + timeoutMs;
    let lastErr: ConsensusError | undefined;
    let uncertain = false;
    for (let attempt = 1; timer.now() < deadline; attempt++) {
      const left = () => Math.max(1, deadline - timer.now());
      let appended = false; // this attempt is known to have been appended (forward answered)
      try {
        if (raft.core.role === 'leader') {
          this.o.onAttempt?.('local', attempt);
          return await raft.propose(data, left());
        }
        const leader = raft.core.lead;
        if (leader === null) throw new ConsensusError('NOT_LEADER', 'no leader known', { leader: null });
        this.o.onAttempt?.('forward', attempt);
        const { index, term } = await this.o.forward(leader, data, left());
        appended = true;
        return await raft.waitApplied(index, term, left());
      } catch (e0) {
        const e = e0 instanceof ConsensusError ? e0 : new ConsensusError('UNKNOWN', `attempt failed: ${(e0 as Error)?.message ?? String(e0)}`, { cause: e0 });
        lastErr = e;
        // Appended at (index, term): only SUPERSEDED proves it will never commit. Otherwise
        // only UNKNOWN and TIMEOUT leave the attempt's fate open.
        if (appended ? e.code !== 'SUPERSEDED' : e.code === 'UNKNOWN' || e.code === 'TIMEOUT') uncertain = true;
        if (!RETRY.has(e.code)) break;
        await this.sleep(Math.min(this.o.retryMs, left()));
      }
    }
    if (uncertain) {
      throw new ConsensusError('UNKNOWN', `the write may or may not have been applied within ${timeoutMs} ms (last: ${lastErr?.code}: ${lastErr?.message}); retrying it with the same request id is safe`, {
        leader: raft.core.lead,
        cause: lastErr,
      });
    }
    throw lastErr ?? new ConsensusError('TIMEOUT', `no leader accepted the write within ${timeoutMs} ms`, { leader: raft.core.lead });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const h = this.o.timer.setInterval(() => {
        this.o.timer.clearInterval(h);
        resolve();
      }, ms);
    });
  }
}
