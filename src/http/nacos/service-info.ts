// The instance-list answer (Nacos' ServiceInfo via InstanceOperatorClientImpl.listInstance and
// ServiceUtil.selectInstancesWithHealthyProtection, 2.2+), and the host JSON (api Instance).

import { heartBeatInterval, heartBeatTimeout, ipDeleteTimeout } from '../../registry/model.ts';
import type { InstanceView, ServiceView } from '../../registry/views.ts';

/** Nacos switchDomain.defaultPushCacheMillis. */
export const CACHE_MILLIS = 10_000;
const ID_GENERATOR_KEY = 'preserved.instance.id.generator';

/** A host as Nacos' Instance serialises (NON_NULL; key order = field order). */
export function hostJson(i: InstanceView, grouped: string): Record<string, unknown> {
  const h: Record<string, unknown> = {
    instanceId: i.instanceId,
    ip: i.ip,
    port: i.port,
    weight: i.weight,
    healthy: i.healthy,
    enabled: i.enabled,
    ephemeral: i.ephemeral,
    clusterName: i.clusterName,
    serviceName: grouped,
    metadata: i.metadata,
    instanceHeartBeatInterval: heartBeatInterval(i),
    instanceHeartBeatTimeOut: heartBeatTimeout(i),
    ipDeleteTimeout: ipDeleteTimeout(i),
  };
  // Nacos quirk kept: with non-empty metadata lacking the key, the generator is null and omitted.
  const gen = Object.keys(i.metadata).length === 0 ? 'simple' : i.metadata[ID_GENERATOR_KEY];
  if (gen !== undefined) h.instanceIdGenerator = gen;
  return h;
}

export interface ListQuery {
  /** The `clusters` parameter exactly as sent (echoed); comma-separated, exact match, no trim. */
  clusters: string;
  healthyOnly: boolean;
}

/**
 * The selection without lastRefTime (which is the time of the answer). Enabled instances of the
 * requested clusters; with healthyOnly, healthy ones only; then, only for a service that has
 * service metadata (created or updated through the service API), the protect threshold: when
 * healthy / selected ≤ threshold, every selected instance is returned as healthy.
 */
export function selectInstances(v: ServiceView, q: ListQuery): { hosts: Record<string, unknown>[]; reachProtectionThreshold: boolean } {
  const wanted = q.clusters === '' ? undefined : new Set(q.clusters.split(','));
  const selected: InstanceView[] = [];
  for (const i of v.instances) {
    if (!i.enabled) continue;
    if (wanted && !wanted.has(i.clusterName)) continue;
    if (q.healthyOnly && !i.healthy) continue;
    selected.push(i);
  }
  let reach = false;
  const svc = v.service;
  if (svc?.explicit && selected.length > 0) {
    const healthy = selected.reduce((n, i) => n + (i.healthy ? 1 : 0), 0);
    const threshold = Math.max(0, svc.protectThreshold);
    // float arithmetic as Nacos: (float) healthy / size <= threshold
    if (Math.fround(healthy / selected.length) <= Math.fround(threshold)) reach = true;
  }
  const hosts = selected.map((i) => hostJson(reach && !i.healthy ? { ...i, healthy: true } : i, v.grouped));
  return { hosts, reachProtectionThreshold: reach };
}

/** The whole answer of /instance/list (v1 body, v2 `data`), at `now` (ms). The selection is
 * memoised on the view (rebuilt only when the service changes). */
export function serviceInfo(v: ServiceView, q: ListQuery, now: number): Record<string, unknown> {
  const key = `list\u001f${q.clusters}\u001f${q.healthyOnly}`;
  let sel = v.memo.get(key) as ReturnType<typeof selectInstances> | undefined;
  if (!sel) {
    sel = selectInstances(v, q);
    if (v.memo.size >= 64) v.memo.clear(); // bounded: cluster strings come from clients
    v.memo.set(key, sel);
  }
  return {
    name: v.grouped,
    groupName: v.group,
    clusters: q.clusters,
    cacheMillis: CACHE_MILLIS,
    hosts: sel.hosts,
    lastRefTime: now,
    checksum: '',
    allIPs: false,
    reachProtectionThreshold: sel.reachProtectionThreshold,
    valid: true,
  };
}
