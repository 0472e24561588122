// The leader's expiry decisions for ephemeral instances (DESIGN §6): given the views, the beat
// table and the leader's clock, it returns the flips and removals to commit in one batch. Its
// only effect is on the table: an instance seen at a new rev (registered or updated again, here
// or at another node) counts as beaten now, as a registration does in Nacos.
//
// Rules (per instance, ms, overridable in its metadata):
// - last := max(last beat seen by this node, start of this node's leadership): a new leader gives
//   every instance a full grace period, so a leader change never mass-expires a fleet;
// - now − last > ipDeleteTimeout (30 s)       → removed;
// - else now − last > heartBeatTimeout (15 s) → flipped unhealthy (if healthy);
// - else, unhealthy                           → flipped healthy (a beat came back).
// Every change names the instance's rev, so one registered again meanwhile is left alone.

import type { HealthChange } from '../commands.ts';
import { heartBeatTimeout, ipDeleteTimeout } from '../model.ts';
import type { ServiceView } from '../views.ts';
import { beatKey, type BeatTable } from './beat-table.ts';

export interface SweepResult {
  changes: HealthChange[];
  /** Keys of every ephemeral instance seen (to prune the beat table). */
  live: Set<string>;
}

export function sweep(services: Iterable<ServiceView>, beats: BeatTable, now: number, leaderSince: number): SweepResult {
  const changes: HealthChange[] = [];
  const live = new Set<string>();
  for (const v of services) {
    for (const i of v.instances) {
      if (!i.ephemeral) continue;
      const key = beatKey(v.ns, v.grouped, i.instanceId);
      live.add(key);
      if (beats.noteRev(key, i.rev)) beats.recordDigest([key], now);
      const last = Math.max(beats.get(key) ?? -Infinity, leaderSince);
      const age = now - last;
      const ref = { ns: v.ns, service: v.grouped, id: i.instanceId, rev: i.rev };
      if (age > ipDeleteTimeout(i)) changes.push(ref);
      else if (age > heartBeatTimeout(i)) {
        if (i.healthy) changes.push({ ...ref, healthy: false });
      } else if (!i.healthy) changes.push({ ...ref, healthy: true });
    }
  }
  return { changes, live };
}
