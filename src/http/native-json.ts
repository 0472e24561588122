// The native API's JSON for services and instances (`/muster/v1`), shared by the read routes,
// SSE events and reset events.

import type { ServiceView } from '../registry/views.ts';

export function nativeInstances(v: ServiceView, q: { clusters?: ReadonlySet<string>; healthyOnly?: boolean } = {}): Record<string, unknown>[] {
  return v.instances
    .filter((i) => (!q.clusters || q.clusters.has(i.clusterName)) && (!q.healthyOnly || i.healthy))
    .map((i) => ({ id: i.instanceId, ip: i.ip, port: i.port, weight: i.weight, healthy: i.healthy, enabled: i.enabled, ephemeral: i.ephemeral, cluster: i.clusterName, metadata: i.metadata }));
}

export function nativeService(v: ServiceView): Record<string, unknown> | null {
  const s = v.service;
  if (!s) return null;
  return { ephemeral: s.ephemeral, protectThreshold: s.protectThreshold, metadata: s.metadata, selector: s.selector, clusters: s.clusters };
}

/** One service with its instances, at `revision`. */
export function nativeServiceState(v: ServiceView, revision: number, q: { clusters?: ReadonlySet<string>; healthyOnly?: boolean } = {}): Record<string, unknown> {
  return { namespace: v.ns, group: v.group, name: v.name, revision, service: nativeService(v), instances: nativeInstances(v, q) };
}
