// Nacos Open API v1, services and clusters (ServiceController, ClusterController as of 2.2+):
// the group travels inside serviceName (`group@@service`) except on /service/list.

import type { Router } from 'express';
import { HealthCheckType, type HealthChecker } from '../../registry/model.ts';
import { CLUSTER_NAME_PATTERN, DEFAULT_GROUP, DEFAULT_NAMESPACE, groupedName, splitGrouped } from '../../registry/names.ts';
import { ApiError, badParam, ErrorCode } from './api-error.ts';
import { linearizable, paramRoute, requestIdOf, type NacosDeps } from './context.ts';
import { bool, optional, parseMetadata, required, requiredParam, toInt, type Params } from './params.ts';
import { pageServices, parseSelector, parseThreshold, serviceDetailV1 } from './service-ops.ts';

/** `serviceName` as v1 service routes take it: grouped, or bare in DEFAULT_GROUP. */
function grouped(name: string): string {
  const { group, service } = splitGrouped(name);
  return groupedName(group, service);
}

/** HealthCheckerFactory.deserialize: JSON with `type`; an unknown type falls back to NONE. */
export function parseHealthChecker(raw: string): HealthChecker {
  let v: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    v = parsed as Record<string, unknown>;
  } catch (e) {
    throw badParam(`Param 'healthChecker' is illegal, it must be a JSON object with a type: ${(e as Error).message}`);
  }
  const type = typeof v.type === 'string' ? v.type.toUpperCase() : '';
  if (type === HealthCheckType.TCP) return { type: 'TCP' };
  if (type === HealthCheckType.HTTP) {
    const code = typeof v.expectedResponseCode === 'number' ? v.expectedResponseCode : 200;
    return { type: 'HTTP', path: typeof v.path === 'string' ? v.path : '', headers: typeof v.headers === 'string' ? v.headers : '', expectedResponseCode: code };
  }
  return { type: 'NONE' };
}

export function v1ServiceRoutes(r: Router, d: NacosDeps): void {
  const { registry } = d;
  const ns = (p: Params) => optional(p, 'namespaceId', DEFAULT_NAMESPACE);

  r.post(
    '/nacos/v1/ns/service',
    paramRoute('v1', async (p, req, res) => {
      const name = grouped(requiredParam(p, 'serviceName'));
      const protectThreshold = p.protectThreshold === undefined || p.protectThreshold === '' ? 0 : parseThreshold(p.protectThreshold);
      const metadata = parseMetadata(p.metadata);
      const selector = parseSelector(p.selector);
      const id = requestIdOf(req);
      // v1 always creates a persistent service ("This API will create a persistence service.").
      await registry.write({ type: 'serviceCreate', ns: ns(p), service: name, ephemeral: false, protectThreshold, metadata, selector }, id);
      res.type('text/plain').send('ok');
    }, d.logger),
  );

  r.delete(
    '/nacos/v1/ns/service',
    paramRoute('v1', async (p, req, res) => {
      const name = grouped(requiredParam(p, 'serviceName'));
      await registry.write({ type: 'serviceDelete', ns: ns(p), service: name }, requestIdOf(req));
      res.type('text/plain').send('ok');
    }, d.logger),
  );

  r.put(
    '/nacos/v1/ns/service',
    paramRoute('v1', async (p, req, res) => {
      const name = grouped(required(p, 'serviceName'));
      const raw = required(p, 'protectThreshold');
      // Nacos: NumberUtils.toFloat (an unparsable value is 0); a value outside [0, 1] is refused here.
      const protectThreshold = Number.isFinite(Number(raw)) ? parseThreshold(raw) : 0;
      // Omitted metadata and selector are reset (the update replaces them).
      const metadata = parseMetadata(p.metadata);
      const selector = parseSelector(p.selector);
      await registry.write({ type: 'serviceUpdate', ns: ns(p), service: name, protectThreshold, metadata, selector }, requestIdOf(req));
      res.type('text/plain').send('ok');
    }, d.logger),
  );

  r.get(
    '/nacos/v1/ns/service',
    paramRoute('v1', async (p, req, res) => {
      const raw = requiredParam(p, 'serviceName');
      const name = grouped(raw);
      const namespace = ns(p);
      const body = await registry.read(linearizable(req, p), () => {
        const v = registry.views.service(namespace, name);
        if (!v.service) throw new ApiError(400, ErrorCode.SERVICE_NOT_EXIST, `service not found, namespace: ${namespace}, serviceName: ${raw}`);
        return serviceDetailV1(v);
      });
      res.json(body);
    }, d.logger),
  );

  r.get(
    '/nacos/v1/ns/service/list',
    paramRoute('v1', async (p, req, res) => {
      const pageNo = toInt(required(p, 'pageNo'), 0);
      const pageSize = toInt(required(p, 'pageSize'), 0);
      const group = optional(p, 'groupName', DEFAULT_GROUP);
      const namespace = ns(p);
      const { count, page } = await registry.read(linearizable(req, p), () => pageServices(registry.views, namespace, group, pageNo, pageSize));
      res.json({ count, doms: page });
    }, d.logger),
  );

  r.put(
    '/nacos/v1/ns/cluster',
    paramRoute('v1', async (p, req, res) => {
      const cluster = required(p, 'clusterName');
      const name = grouped(required(p, 'serviceName'));
      const checkPort = toInt(required(p, 'checkPort'), 0);
      const useInstancePort4Check = bool(required(p, 'useInstancePort4Check'), false);
      const healthChecker = parseHealthChecker(required(p, 'healthChecker'));
      const metadata = parseMetadata(p.metadata);
      if (!CLUSTER_NAME_PATTERN.test(cluster)) throw badParam(`Param 'cluster' is illegal, illegal characters should not appear in the param.`);
      if (checkPort < 0 || checkPort > 65535) throw badParam(`Param 'port' is illegal, the value should be between 0 and 65535.`);
      await registry.write({ type: 'clusterUpdate', ns: ns(p), service: name, cluster, healthChecker, checkPort, useInstancePort4Check, metadata }, requestIdOf(req));
      res.type('text/plain').send('ok');
    }, d.logger),
  );
}
