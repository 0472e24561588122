// Issue 9, bug 4: once any attempt of a write may have been appended, every later failure is
// UNKNOWN — never a definite failure.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConsensusError } from '../../src/consensus/errors.ts';
import { Proposer, type ForwardFn, type ProposerRaft } from '../../src/consensus/proposer.ts';
import type { Timer } from '../../src/consensus/timer.ts';
import type { Committed } from '../../src/consensus/waiters.ts';

// wallTimer's intervals are unref'd; a test with nothing else pending needs ref'd ones.
const timer: Timer = { now: () => performance.now(), setInterval: (fn, ms) => setInterval(fn, ms), clearInterval: (h) => clearInterval(h as NodeJS.Timeout) };

type Step = () => Promise<unknown>;
const err = (code: ConsensusError['code']) => () => Promise.reject(new ConsensusError(code, code.toLowerCase()));

/** A node that follows n1 (or leads, when `leading()`), with scripted answers per attempt. */
function proposer(script: { forward?: Step[]; local?: Step[]; wait?: Step[]; leading?: (attempt: number) => boolean }) {
  let attempt = 0;
  const core = {
    get role() {
      return script.leading?.(attempt) ? 'leader' : 'follower';
    },
    lead: 'n1' as string | null,
  };
  const next = (xs: Step[] | undefined) => (xs?.shift() ?? err('TIMEOUT'))();
  const raft: ProposerRaft = {
    core,
    propose: () => next(script.local) as Promise<Committed>,
    waitApplied: () => next(script.wait) as Promise<Committed>,
  };
  const forward: ForwardFn = () => next(script.forward) as Promise<{ index: number; term: number }>;
  return new Proposer({ raft, forward, timer, retryMs: 1, onAttempt: () => void attempt++ });
}

async function outcome(p: Proposer): Promise<string> {
  try {
    await p.propose(new Uint8Array([1]), 2000);
    return 'committed';
  } catch (e) {
    return (e as ConsensusError).code;
  }
}

describe('proposer outcomes', () => {
  it('a lost answer, then a definite refusal by the leader: UNKNOWN', async () => {
    assert.equal(await outcome(proposer({ forward: [err('UNKNOWN'), err('INVALID')] })), 'UNKNOWN');
    assert.equal(await outcome(proposer({ forward: [err('UNKNOWN'), err('NOT_READY')] })), 'UNKNOWN');
  });

  it('a lost answer, then this node leads and is shutting down: UNKNOWN', async () => {
    const p = proposer({ forward: [err('UNKNOWN')], local: [err('SHUTTING_DOWN')], leading: (a) => a >= 1 });
    assert.equal(await outcome(p), 'UNKNOWN');
  });

  it('appended at the leader, then this node stops while waiting to apply it: UNKNOWN', async () => {
    const p = proposer({ forward: [() => Promise.resolve({ index: 5, term: 2 })], wait: [err('SHUTTING_DOWN')] });
    assert.equal(await outcome(p), 'UNKNOWN');
  });

  it('a failed body read or any other exception after sending: UNKNOWN', async () => {
    const p = proposer({ forward: [() => Promise.reject(new TypeError('terminated'))], wait: [] });
    assert.equal(await outcome(p), 'UNKNOWN');
  });

  it('nothing ever appended: the definite failure stands', async () => {
    assert.equal(await outcome(proposer({ forward: [err('NOT_LEADER'), err('INVALID')] })), 'INVALID');
    assert.equal(await outcome(proposer({ forward: [err('SUPERSEDED'), err('SHUTTING_DOWN')] })), 'SHUTTING_DOWN');
  });

  it('a retried attempt that commits resolves', async () => {
    const ok: Committed = { index: 7, term: 2, result: null };
    const p = proposer({ forward: [err('UNKNOWN'), () => Promise.resolve({ index: 7, term: 2 })], wait: [() => Promise.resolve(ok)] });
    assert.equal(await outcome(p), 'committed');
  });
});
