// Nacos Open API v2 (Nacos 2.2+: InstanceControllerV2, ServiceControllerV2, HealthControllerV2,
// OperatorControllerV2): forms with groupName beside serviceName, answers `{code, message, data}`
// (the beat answers the plain v1-style object).

import type { Request, Response, Router } from 'express';
import type { PatchCommand } from '../../registry/commands.ts';
import { DEFAULT_CLUSTER, DEFAULT_GROUP, DEFAULT_NAMESPACE, GROUP_SEPARATOR } from '../../registry/names.ts';
import { ApiError, badParam, ErrorCode } from './api-error.ts';
import { linearizable, ok2, paramRoute, requestIdOf, type NacosDeps } from './context.ts';
import { instanceFromParams, parsePort, parseWeight, toBoolean } from './instance-params.ts';
import { bool, optional, parseMetadata, requiredParam, requiredV2, toInt, type Params } from './params.ts';
import { pageServices, parseSelector, parseThreshold, serviceDetailV2 } from './service-ops.ts';
import { serviceInfo } from './service-info.ts';
import { handleBeat, instanceDetail, metricsBody } from './v1-instance.ts';

/** NamingUtils.getGroupedName(serviceName, groupName) for a form. */
function groupedV2(p: Params, required: (p: Params, k: string) => string = requiredV2): string {
  const service = required(p, 'serviceName').trim();
  if (service.includes(GROUP_SEPARATOR)) throw badParam(`Param 'serviceName' is illegal, illegal characters should not appear in the param.`);
  return `${optional(p, 'groupName', DEFAULT_GROUP).trim()}${GROUP_SEPARATOR}${service}`;
}

export function v2Routes(r: Router, d: NacosDeps): void {
  const { registry } = d;
  const ns = (p: Params) => optional(p, 'namespaceId', DEFAULT_NAMESPACE);
  const v2 = (h: (p: Params, req: Request, res: Response) => unknown) => paramRoute('v2', h, d.logger);

  // ---- instances ----------------------------------------------------------------------------
  const instanceWrite = (kind: 'register' | 'deregister' | 'update') =>
    v2(async (p, req, res) => {
      const service = groupedV2(p);
      const instance = instanceFromParams(p, { enableAlias: false, v2: true });
      const id = requestIdOf(req);
      if (kind === 'register') await registry.write({ type: 'register', ns: ns(p), service, instance }, id);
      else if (kind === 'update') await registry.write({ type: 'update', ns: ns(p), service, instance, mergeMetadata: true }, id);
      else await registry.write({ type: 'deregister', ns: ns(p), service, ip: instance.ip, port: instance.port, cluster: instance.clusterName, ephemeral: instance.ephemeral }, id);
      ok2(res, 'ok');
    });
  r.post('/nacos/v2/ns/instance', instanceWrite('register'));
  r.delete('/nacos/v2/ns/instance', instanceWrite('deregister'));
  r.put('/nacos/v2/ns/instance', instanceWrite('update'));

  r.patch(
    '/nacos/v2/ns/instance',
    v2(async (p, req, res) => {
      const service = groupedV2(p);
      const ip = requiredV2(p, 'ip').trim();
      const port = parsePort(requiredV2(p, 'port', 'Integer'));
      const cluster = optional(p, 'clusterName', DEFAULT_CLUSTER);
      instanceDetail(registry.views.service(ns(p), service), cluster, ip, port);
      const cmd: PatchCommand = { type: 'patch', ns: ns(p), service, ip, port, cluster };
      if (optional(p, 'metadata', '') !== '') cmd.metadata = parseMetadata(p.metadata);
      if (optional(p, 'weight', '') !== '') cmd.weight = parseWeight(p.weight!);
      if (optional(p, 'enabled', '') !== '') cmd.enabled = toBoolean(p.enabled, true);
      await registry.write(cmd, requestIdOf(req));
      ok2(res, 'ok');
    }),
  );

  r.get(
    '/nacos/v2/ns/instance',
    v2(async (p, req, res) => {
      const service = groupedV2(p, requiredParam);
      const cluster = optional(p, 'clusterName', DEFAULT_CLUSTER);
      const ip = requiredParam(p, 'ip').trim();
      const port = parsePort(requiredParam(p, 'port', 'Integer'));
      const namespace = ns(p);
      const data = await registry.read(linearizable(req, p), () => {
        const i = instanceDetail(registry.views.service(namespace, service), cluster, ip, port);
        return { serviceName: service, ip, port, clusterName: cluster, weight: i.weight, healthy: i.healthy, instanceId: i.instanceId, metadata: i.metadata };
      });
      ok2(res, data);
    }),
  );

  r.get(
    '/nacos/v2/ns/instance/list',
    v2(async (p, req, res) => {
      const service = groupedV2(p, requiredParam);
      const namespace = ns(p);
      const q = { clusters: optional(p, 'clusterName', ''), healthyOnly: bool(p.healthyOnly, false) };
      const udpPort = toInt(optional(p, 'port', '0'), 0);
      if (udpPort > 0) d.push?.subscribe(namespace, service, q.clusters, optional(p, 'ip', ''), udpPort);
      const data = await registry.read(linearizable(req, p), () => serviceInfo(registry.views.service(namespace, service), q, Date.now()));
      ok2(res, data);
    }),
  );

  r.put(
    '/nacos/v2/ns/instance/beat',
    v2(async (p, req, res) => {
      // A @RequestParam here: Spring refuses a missing serviceName before the beat is read.
      requiredParam(p, 'serviceName');
      res.json(await handleBeat(d, req, p, 'v2'));
    }),
  );

  // ---- services -----------------------------------------------------------------------------
  r.post(
    '/nacos/v2/ns/service',
    v2(async (p, req, res) => {
      const service = groupedV2(p);
      const protectThreshold = optional(p, 'protectThreshold', '') === '' ? 0 : parseThreshold(p.protectThreshold!);
      const cmd = { type: 'serviceCreate' as const, ns: ns(p), service, ephemeral: toBoolean(p.ephemeral, false), protectThreshold, metadata: parseMetadata(p.metadata), selector: parseSelector(p.selector) };
      await registry.write(cmd, requestIdOf(req));
      ok2(res, 'ok');
    }),
  );

  r.put(
    '/nacos/v2/ns/service',
    v2(async (p, req, res) => {
      const service = groupedV2(p);
      // Omitted fields are reset to their defaults (ServiceForm.fillDefaultValue).
      const protectThreshold = optional(p, 'protectThreshold', '') === '' ? 0 : parseThreshold(p.protectThreshold!);
      await registry.write({ type: 'serviceUpdate', ns: ns(p), service, protectThreshold, metadata: parseMetadata(p.metadata), selector: parseSelector(p.selector) }, requestIdOf(req));
      ok2(res, 'ok');
    }),
  );

  r.delete(
    '/nacos/v2/ns/service',
    v2(async (p, req, res) => {
      const service = groupedV2(p, requiredParam);
      await registry.write({ type: 'serviceDelete', ns: ns(p), service }, requestIdOf(req));
      ok2(res, 'ok');
    }),
  );

  r.get(
    '/nacos/v2/ns/service',
    v2(async (p, req, res) => {
      const service = groupedV2(p, requiredParam);
      const namespace = ns(p);
      const data = await registry.read(linearizable(req, p), () => {
        const v = registry.views.service(namespace, service);
        if (!v.service) throw new ApiError(400, ErrorCode.SERVICE_NOT_EXIST, `service not found, namespace: ${namespace}, serviceName: ${service}`);
        return serviceDetailV2(v);
      });
      ok2(res, data);
    }),
  );

  r.get(
    '/nacos/v2/ns/service/list',
    v2(async (p, req, res) => {
      const pageNo = toInt(optional(p, 'pageNo', '1'), 1);
      const pageSize = Math.min(500, toInt(optional(p, 'pageSize', '20'), 20));
      const group = optional(p, 'groupName', DEFAULT_GROUP);
      const namespace = ns(p);
      const { count, page } = await registry.read(linearizable(req, p), () => pageServices(registry.views, namespace, group, pageNo, pageSize));
      ok2(res, { count, services: page });
    }),
  );

  // ---- health and operator ------------------------------------------------------------------
  const health = v2(async (p, req, res) => {
    const healthy = requiredV2(p, 'healthy', 'Boolean');
    const service = groupedV2(p);
    const ip = requiredV2(p, 'ip').trim();
    const port = parsePort(requiredV2(p, 'port', 'Integer'));
    const cluster = optional(p, 'clusterName', DEFAULT_CLUSTER);
    await registry.write({ type: 'healthSet', ns: ns(p), service, cluster, ip, port, healthy: toBoolean(healthy, false) }, requestIdOf(req));
    ok2(res, 'ok');
  });
  r.put('/nacos/v2/ns/health/instance', health);
  r.put('/nacos/v2/ns/health', health);

  for (const base of ['/nacos/v2/ns/operator', '/nacos/v2/ns/ops']) {
    r.get(
      `${base}/metrics`,
      v2((p, _req, res) => {
        ok2(res, metricsBody(d, bool(optional(p, 'onlyStatus', 'true'), true), 'v2'));
      }),
    );
  }
}
