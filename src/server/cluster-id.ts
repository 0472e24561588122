// The cluster id: fixed when a cluster is bootstrapped, stored durably in every member's data dir,
// carried on every peer request. Raft assumes ONE history; equal (index, term) pairs from two
// histories pass the log-matching check, so two clusters must never exchange messages.
//
// Every bootstrapping node computes the id on its own, so it is a function of what they share:
// the bootstrap configuration (voters with their addresses), which is also entry 1 of the log.
// Two clusters bootstrapped from different peer lists get different ids; a joining node with an
// empty data dir learns the id from the cluster it joins.

import { createHash } from 'node:crypto';
import type { ConfChange, NodeId } from '../consensus/types.ts';

/** 16 hex digits of SHA-256 over the canonical bootstrap configuration. */
export function clusterIdFor(voters: readonly NodeId[], addresses: Readonly<Record<NodeId, string>>): string {
  const canonical = [...voters].sort().map((v) => `${v}=${addresses[v] ?? ''}`).join(',');
  return createHash('sha256').update(`muster-cluster:${canonical}`).digest('hex').slice(0, 16);
}

/** The id of the cluster whose entry 1 is `change` (a data dir from before ids were stored). */
export function clusterIdOfBootstrap(change: ConfChange | undefined): string | undefined {
  return change?.type === 'bootstrap' ? clusterIdFor(change.voters, change.addresses) : undefined;
}
