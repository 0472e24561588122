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
  /** Keys of every ephemeral instance seen (to prune the beat table), when asked for. */
  live: Set<string> | undefined;
}

/** Per view (views are immutable, rebuilt when their service changes): the beat key and timeouts
 * of each ephemeral instance, computed once. */
interface SweepPlan {
  keys: string[];
  /** Index into v.instances of each key. */
  at: number[];
  timeout: number[];
  deleteAfter: number[];
}

function planOf(v: ServiceView): SweepPlan {
  let p = v.memo.get('sweep') as SweepPlan | undefined;
  if (!p) {
    p = { keys: [], at: [], timeout: [], deleteAfter: [] };
    v.instances.forEach((i, at) => {
      if (!i.ephemeral) return;
      p!.keys.push(beatKey(v.ns, v.grouped, i.instanceId));
      p!.at.push(at);
      p!.timeout.push(heartBeatTimeout(i));
      p!.deleteAfter.push(ipDeleteTimeout(i));
    });
    v.memo.set('sweep', p);
  }
  return p;
}

/**
 * One sweep. `seen` holds the views already swept before: only a view not seen yet (its service
 * changed) is checked for new revs. `collectLive` asks for the keys of every instance (pruning the
 * beat table is not needed at every sweep). Cost per instance: two map lookups.
 */
export function sweep(services: Iterable<ServiceView>, beats: BeatTable, now: number, leaderSince: number, seen: WeakSet<ServiceView>, collectLive = false): SweepResult {
  const changes: HealthChange[] = [];
  const live = collectLive ? new Set<string>() : undefined;
  for (const v of services) {
    const p = planOf(v);
    const fresh = !seen.has(v);
    if (fresh) seen.add(v);
    for (let k = 0; k < p.keys.length; k++) {
      const key = p.keys[k]!;
      const i = v.instances[p.at[k]!]!;
      live?.add(key);
      if (fresh && beats.noteRev(key, i.rev)) beats.recordDigest([key], now);
      const age = now - Math.max(beats.get(key) ?? -Infinity, leaderSince);
      if (age > p.deleteAfter[k]!) changes.push({ ns: v.ns, service: v.grouped, id: i.instanceId, rev: i.rev });
      else if (age > p.timeout[k]!) {
        if (i.healthy) changes.push({ ns: v.ns, service: v.grouped, id: i.instanceId, rev: i.rev, healthy: false });
      } else if (!i.healthy) changes.push({ ns: v.ns, service: v.grouped, id: i.instanceId, rev: i.rev, healthy: true });
    }
  }
  return { changes, live };
}
