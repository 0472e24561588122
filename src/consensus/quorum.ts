// Majority rules over voters. Learners never count.

import type { NodeId } from './types.ts';

/** Votes needed to win among n voters. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The highest index that a majority of `voters` has matched: sort the match indexes descending
 * and take the quorum position. A voter without an entry in `match` counts as 0.
 */
export function committedIndex(voters: readonly NodeId[], match: (id: NodeId) => number): number {
  if (voters.length === 0) return 0;
  const xs = voters.map(match).sort((a, b) => b - a);
  return xs[quorumSize(voters.length) - 1]!;
}

export const VoteResult = { Pending: 'pending', Won: 'won', Lost: 'lost' } as const;
export type VoteResult = (typeof VoteResult)[keyof typeof VoteResult];

/** Tally of granted / rejected votes among voters; responses from non-voters are ignored. */
export function voteResult(voters: readonly NodeId[], votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let granted = 0;
  let rejected = 0;
  for (const v of voters) {
    const g = votes.get(v);
    if (g === true) granted++;
    else if (g === false) rejected++;
  }
  const q = quorumSize(voters.length);
  if (granted >= q) return VoteResult.Won;
  if (rejected > voters.length - q) return VoteResult.Lost;
  return VoteResult.Pending;
}
