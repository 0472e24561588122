// The test-only mutations of the core (raft-config.ts Mutations): each breaks one rule on purpose.
// SIM_CAUGHT: the simulator catches each within MUTATION_SEEDS seeds (sim.test.ts asserts it).
// Some are also caught by scripted scenarios (test/consensus/mutations.test.ts).

import type { Mutations } from '../../src/consensus/raft.ts';

export const MUTATIONS: (keyof Mutations)[] = [
  'commitPrevTermByCount',
  'voteBeforePersist',
  'skipHeartbeatCommitClamp',
  'confChangeBeforeTermCommit',
  'readIndexBeforeNoop',
  'readIndexWithoutRound',
  'readConfirmedByEarlierRound',
  'leaseNotEndedOnTransfer',
  'learnersCountInQuorum',
  'followerCommitToLastIndex',
  'leaderCountsUndurable',
  'noAckWithdrawalOnTruncate',
  'outcomeByIndexOnly',
  'grantVoteAfterRestart',
  'keepSuffixByDurableOnly',
];

/** Seeds CI runs per mutation (sim.test.ts); each SIM_CAUGHT mutation is caught within them. */
export const MUTATION_SEEDS = 150;

/** Caught only by scripted scenarios (test/consensus/mutations.test.ts): none any more. */
export const SCRIPTED_ONLY: (keyof Mutations)[] = [];

export const SIM_CAUGHT: (keyof Mutations)[] = MUTATIONS.filter((m) => !SCRIPTED_ONLY.includes(m));
