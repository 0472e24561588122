// The test-only mutations of the core (raft-config.ts Mutations): each breaks one rule on purpose,
// and the simulator must catch each within the seeds CI runs (sim.test.ts).

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
