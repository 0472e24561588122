// Service-level pieces shared by the v1 and v2 routers: selector parsing, the detail answers,
// and the paged name listing (Nacos' ServiceOperatorV2Impl / ServiceUtil.pageServiceName).

import { clusterOf as clusterOfService, type ClusterRecord, type HealthChecker, type Selector } from '../../registry/model.ts';
import { splitGrouped } from '../../registry/names.ts';
import type { RegistryViews, ServiceView } from '../../registry/views.ts';
import { badParam, ErrorCode } from './api-error.ts';
import { toNumber } from './params.ts';

/** ServiceController.parseSelector: blank → none; else (URL-decoded) JSON with type none|label. */
export function parseSelector(raw: string | undefined): Selector {
  if (raw === undefined || raw.trim() === '') return { type: 'none' };
  let v: unknown;
  try {
    v = JSON.parse(decodeURIComponent(raw));
  } catch {
    v = undefined;
  }
  const type = (v as { type?: unknown } | undefined)?.type;
  const expression = (v as { expression?: unknown } | undefined)?.expression;
  if (type === 'none') return { type: 'none' };
  if (type === 'label') return typeof expression === 'string' && expression !== '' ? { type: 'label', expression } : { type: 'label' };
  throw badParam('not match any type of selector!', ErrorCode.SELECTOR_ERROR);
}

/** A protect threshold: a number in [0, 1]. */
export function parseThreshold(raw: string): number {
  const n = toNumber('protectThreshold', raw);
  if (n < 0 || n > 1) throw badParam(`Param 'protectThreshold' is illegal, it must be between 0 and 1 (got ${raw}).`);
  return n;
}

/** The selector as Nacos serialises it. */
export function selectorJson(s: Selector): Record<string, unknown> {
  return s.type === 'label' ? { type: 'label', expression: s.expression ?? '', contextType: 'CMDB' } : { type: 'none', contextType: 'NONE' };
}

export function healthCheckerJson(h: HealthChecker): Record<string, unknown> {
  if (h.type === 'HTTP') return { type: 'HTTP', path: h.path ?? '', headers: h.headers ?? '', expectedResponseCode: h.expectedResponseCode ?? 200 };
  return { type: h.type };
}

/** Names of the clusters that have instances, sorted. */
export function clusterNames(v: ServiceView): string[] {
  return [...new Set(v.instances.map((i) => i.clusterName))].sort();
}

function clusterOf(v: ServiceView, name: string): ClusterRecord {
  return clusterOfService(v.service, name);
}

/** v1 GET /service answer (ServiceOperatorV2Impl.queryService). */
export function serviceDetailV1(v: ServiceView): Record<string, unknown> {
  const s = v.service!;
  return {
    namespaceId: v.ns,
    groupName: v.group,
    name: v.name,
    protectThreshold: s.protectThreshold,
    metadata: s.metadata,
    selector: selectorJson(s.selector),
    clusters: clusterNames(v).map((name) => {
      const c = clusterOf(v, name);
      return { name, healthChecker: healthCheckerJson(c.healthChecker), metadata: c.metadata };
    }),
  };
}

/** v2 GET /service answer (ServiceDetailInfo). */
export function serviceDetailV2(v: ServiceView): Record<string, unknown> {
  const s = v.service!;
  const clusterMap: Record<string, unknown> = {};
  for (const name of clusterNames(v)) {
    const c = clusterOf(v, name);
    clusterMap[name] = { clusterName: name, healthChecker: healthCheckerJson(c.healthChecker), metadata: c.metadata, hosts: null };
  }
  return {
    namespace: v.ns,
    serviceName: v.name,
    groupName: v.group,
    clusterMap,
    metadata: s.metadata,
    protectThreshold: s.protectThreshold,
    selector: selectorJson(s.selector),
    ephemeral: s.ephemeral,
  };
}

/** Bare names of the services of `group` in `ns`, and one page of them ([(pageNo−1)·pageSize, +pageSize)). */
export function pageServices(views: RegistryViews, ns: string, group: string, pageNo: number, pageSize: number): { count: number; page: string[] } {
  const names = views
    .serviceNames(ns)
    .map((g) => splitGrouped(g))
    .filter((x) => x.group === group)
    .map((x) => x.service);
  const start = Math.max(0, (pageNo - 1) * pageSize);
  const page = start >= names.length || pageSize <= 0 ? [] : names.slice(start, Math.min(names.length, start + pageSize));
  return { count: names.length, page };
}
